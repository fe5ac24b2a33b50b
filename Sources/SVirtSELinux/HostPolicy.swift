import Glibc
import CSELinux
import SVirtSystem

/// The host's SELinux facts, read through libselinux. Only the `_raw`
/// calls are used so that levels stay in kernel form where mcstrans would
/// translate them ("SystemLow").
public enum HostPolicy {
    /// is_selinux_enabled(3): SELinux is in the kernel and a policy is loaded.
    public static func isEnabled() -> Bool {
        is_selinux_enabled() == 1
    }

    /// security_getenforce(3): enforcing (true) or permissive (false).
    public static func isEnforcing() -> Bool {
        security_getenforce() == 1
    }

    /// selinux_lxc_contexts_path(3): the loaded (or configured) policy's
    /// lxc_contexts file.
    public static func lxcContextsPath() -> String? {
        guard let path = selinux_lxc_contexts_path() else { return nil }
        return String(cString: path)
    }

    /// getcon_raw(3): this process's own context.
    public static func currentContext() throws(SystemError) -> String {
        var raw: UnsafeMutablePointer<CChar>?
        try syscall("getcon_raw") { getcon_raw(&raw) }
        guard let raw else { throw SystemError("getcon_raw", errno: .invalid) }
        defer { freecon(raw) }
        return String(cString: raw)
    }

    /// security_check_context_raw(3): whether the loaded policy accepts
    /// `context`. Meaningless with SELinux off (it fails for every context).
    public static func isValidContext(_ context: String) -> Bool {
        context.withCString { security_check_context_raw($0) } == 0
    }

    /// Whether the loaded policy defines `type`: an object context is valid
    /// for any defined type (object_r needs no role-type pairing), so
    /// `USER:object_r:TYPE:s0` is refused only for an unknown type (or user).
    public static func knowsType(_ type: String, user: String) -> Bool {
        isValidContext("\(user):object_r:\(type):s0")
    }

    /// Reads and parses an lxc_contexts file.
    public static func loadContexts(path: String) throws(PolicyError) -> LXCContexts {
        let bytes: [UInt8]
        do {
            bytes = try Files.read(path, limit: 1 << 20)
        } catch {
            throw PolicyError(description: "cannot read lxc_contexts: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PolicyError(description: "\(path): not UTF-8 text")
        }
        do {
            return try LXCContexts(parsing: text)
        } catch {
            throw PolicyError(description: "\(path): \(error)")
        }
    }

    /// The categories a labeler running in `context` may hand out, by
    /// libvirt's rule: the categories of the range's high level (its
    /// clearance), from the lowest to the highest; c0.c1023 when it names
    /// none. nil for a context that does not parse.
    public static func categoryRange(ofContext context: String) -> CategoryRange? {
        guard let parsed = SecurityContext(context) else { return nil }
        guard parsed.range != nil else { return .full }
        guard let high = parsed.highLevel else { return nil }
        guard let lo = high.categories.first, let hi = high.categories.last else { return .full }
        return CategoryRange(lower: lo, upper: hi)
    }
}

/// Host policy facts could not be read (exit code "policy").
public struct PolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
