import SVirtJSON

/// What of the host a container shares, judged as Docker and podman judge
/// it before they label: either one leaves such a container unlabeled,
/// because container_t on a process that sees the host's processes or
/// controls its kernel only breaks it, and confines nothing MCS could.
public struct HostAccess: Equatable, Sendable, CustomStringConvertible {
    /// `linux.namespaces` lists no `pid` namespace: the host's.
    public var pidNamespace = false
    /// `linux.namespaces` lists no `ipc` namespace: the host's.
    public var ipcNamespace = false
    /// Privileged, as `--privileged` writes it (see OCIConfig.hostAccess).
    public var privileged = false

    public init(pidNamespace: Bool = false, ipcNamespace: Bool = false, privileged: Bool = false) {
        self.pidNamespace = pidNamespace
        self.ipcNamespace = ipcNamespace
        self.privileged = privileged
    }

    public var any: Bool { pidNamespace || ipcNamespace || privileged }

    /// "privileged, the host's PID namespace", for a notice.
    public var description: String {
        var parts: [String] = []
        if privileged { parts.append("privileged") }
        if pidNamespace { parts.append("the host's PID namespace") }
        if ipcNamespace { parts.append("the host's IPC namespace") }
        return parts.joined(separator: ", ")
    }

    /// Capabilities no unprivileged container is given and that no label
    /// can contain: loading kernel modules, raw I/O, and CAP_SYS_ADMIN.
    public static let privilegedCapabilities = ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO"]
}

extension OCIConfig {
    /// Namespaces are judged only when `linux.namespaces` is there: every
    /// engine and `runc spec` write the list, so a config without one is a
    /// hand-made minimal one, and is labeled rather than silently left
    /// unconfined. Privileged means all of: the bounding set holds every
    /// one of `HostAccess.privilegedCapabilities`, and neither
    /// `linux.maskedPaths` nor `linux.readonlyPaths` lists anything. That
    /// is what Docker's and podman's `--privileged` write; a container
    /// merely given CAP_SYS_ADMIN keeps its masked /proc paths, and the
    /// full capability list itself differs between kernels and engine
    /// versions, so it is not compared.
    public func hostAccess() throws(OCIError) -> HostAccess {
        var access = HostAccess()
        if let linux = try object("linux"), let value = linux["namespaces"], !value.isNull {
            guard case .array(let entries) = value else {
                throw OCIError.wrongType("linux.namespaces", expected: "array", found: value)
            }
            var types: [String] = []
            for (i, entry) in entries.enumerated() {
                guard case .string(let type)? = entry["type"] else {
                    throw OCIError("linux.namespaces[\(i)].type: expected a string")
                }
                types.append(type)
            }
            access.pidNamespace = !types.contains("pid")
            access.ipcNamespace = !types.contains("ipc")
        }
        let bounding = try capabilities("bounding")
        let masked = try list(in: "linux", "maskedPaths"), readOnly = try list(in: "linux", "readonlyPaths")
        access.privileged = HostAccess.privilegedCapabilities.allSatisfy(bounding.contains) && masked.isEmpty && readOnly.isEmpty
        return access
    }

    private func capabilities(_ set: String) throws(OCIError) -> [String] {
        guard let process = try object("process"), let caps = process["capabilities"], !caps.isNull else { return [] }
        guard case .object(let sets) = caps else {
            throw OCIError.wrongType("process.capabilities", expected: "object", found: caps)
        }
        return try strings(sets[set], "process.capabilities.\(set)")
    }

    private func list(in parent: String, _ key: String) throws(OCIError) -> [String] {
        guard let object = try object(parent) else { return [] }
        return try strings(object[key], "\(parent).\(key)")
    }

    private func strings(_ value: JSONValue?, _ field: String) throws(OCIError) -> [String] {
        guard let value, !value.isNull else { return [] }
        guard case .array(let items) = value else { throw OCIError.wrongType(field, expected: "array", found: value) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw OCIError.wrongType(field, expected: "array of strings", found: value) }
            out.append(s)
        }
        return out
    }
}
