import SVirtJSON
import SVirtOCI
import SVirtSELinux

/// Config + request + policy -> plan. Pure but for the allocator it is
/// handed, so every rule here is unit-tested with doubles.
public enum Planner {
    public enum Mode: Sendable {
        /// precreate, pipe, `--bundle`: add missing labels, strip z/Z.
        case label
        /// Runtime stages: the runtime already holds the config, so only
        /// read the labels it has and plan the relabels they imply.
        case inspect
    }

    public static func plan(
        config input: OCIConfig, settings: HookSettings, policy: Policy,
        allocator: any LevelAllocator, mode: Mode = .label
    ) throws(HookError) -> Plan {
        var config = input
        let request = try Request(annotations: oci { () throws(OCIError) in try config.annotations() })
        let mounts = try oci { () throws(OCIError) in try config.mounts() }

        // Relabel requests by mount index; nil index = root file system.
        var wanted: [Int: RelabelMode] = [:]
        var rootMode: RelabelMode? = settings.relabelRoot
        var changed = false
        for mount in mounts {
            let z = mount.options.contains("z"), Z = mount.options.contains("Z")
            guard z || Z else { continue }
            let field = "mounts[\(mount.index)] (\(mount.destination))"
            if z && Z { throw HookError(.badInput, "\(field): both z and Z relabel options") }
            guard mount.isBind else { throw HookError(.badInput, "\(field): z/Z relabel applies to bind mounts only") }
            wanted[mount.index] = z ? .shared : .private
            if mode == .label {
                // Runtimes do not know z/Z; podman strips them too.
                try oci { () throws(OCIError) in
                    try config.setMountOptions(mount.options.filter { $0 != "z" && $0 != "Z" }, at: mount.index)
                }
                changed = true
            }
        }
        for (destination, relabelMode) in request.relabels {
            if destination == "/" { rootMode = relabelMode; continue }
            // The last mount at a destination is the one the container sees.
            // Byte comparison: canonically equivalent spellings are different paths to the kernel.
            guard let mount = mounts.last(where: { Paths.normalize($0.destination).utf8.elementsEqual(destination.utf8) }) else {
                throw HookError(.badInput, "annotation \(Request.relabelAnnotation): no mount at \(destination)")
            }
            if let previous = wanted[mount.index], previous != relabelMode {
                throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): both z and Z requested")
            }
            guard mount.isBind else {
                throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): z/Z relabel applies to bind mounts only")
            }
            wanted[mount.index] = relabelMode
        }

        if request.options.disable {
            return Plan(config: config, configChanged: changed, disabled: true, processLabel: nil, mountLabel: nil,
                        reservedLevel: nil, key: nil, relabels: [])
        }

        let rootPath = try oci { () throws(OCIError) in try config.rootPath() }
        let resolvedRoot = rootPath.flatMap { Paths.absolute($0, base: settings.baseDirectory) }
        let key = try ContainerKey.derive(from: config, base: settings.baseDirectory)

        var labels = try makeLabels(
            process: oci { () throws(OCIError) in try config.processLabel() },
            mount: oci { () throws(OCIError) in try config.mountLabel() },
            options: request.options, policy: policy, allocator: allocator, key: key, mode: mode)

        if mode == .label {
            if let p = labels.process, labels.setProcess {
                if config.hasProcess {
                    try oci { () throws(OCIError) in try config.setProcessLabel(p) }
                    changed = true
                } else {
                    // No process to label: nothing runs under it.
                    labels.process = nil
                }
            }
            if let m = labels.mount, labels.setMount {
                try oci { () throws(OCIError) in try config.setMountLabel(m) }
                changed = true
            }
        }

        // Read-only mounts get the same label as writable ones, not the
        // policy's ro_file type: `ro` is enforced by the mount, and a
        // private Z label keeps MCS separation that container_ro_file_t
        // (shared by every container) would give up.
        var targets: [RelabelTarget] = []
        if let fileLabel = labels.mount, let parsed = SecurityContext(fileLabel) {
            func label(_ m: RelabelMode) throws(HookError) -> String {
                switch m {
                case .private: return fileLabel
                case .shared:
                    guard let shared = parsed.with(range: "s0") else {
                        throw HookError(.badLabel, "cannot derive a shared label from \(fileLabel)")
                    }
                    return shared.description
                }
            }
            for mount in mounts {
                guard let m = wanted[mount.index] else { continue }
                guard let source = mount.source, !source.isEmpty else {
                    throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): relabel requested but no source")
                }
                guard let path = Paths.absolute(source, base: settings.baseDirectory) else {
                    throw HookError(.badInput, "mounts[\(mount.index)].source \(source) is relative and the bundle directory is unknown")
                }
                targets.append(RelabelTarget(destination: mount.destination, source: path, label: try label(m), mode: m))
            }
            if let m = rootMode {
                guard let rootPath else { throw HookError(.badInput, "root relabel requested but root.path is missing") }
                guard let path = resolvedRoot else {
                    throw HookError(.badInput, "root.path \(rootPath) is relative and the bundle directory is unknown")
                }
                targets.append(RelabelTarget(destination: "/", source: path, label: try label(m), mode: m))
            }
        }

        return Plan(config: config, configChanged: changed, disabled: false, processLabel: labels.process,
                    mountLabel: labels.mount, reservedLevel: labels.reserved, key: key, relabels: targets,
                    skipLabeled: request.skipLabeled)
    }

    struct Labels {
        var process: String?
        var mount: String?
        var setProcess = false
        var setMount = false
        var reserved: MCSLevel?
    }

    /// Keeps user labels; fills in what is missing. If only one label is
    /// set, the other takes its level, so process and files still match.
    static func makeLabels(
        process: String?, mount: String?, options: LabelOptions, policy: Policy,
        allocator: any LevelAllocator, key: ContainerKey?, mode: Mode
    ) throws(HookError) -> Labels {
        let userProcess = try process.map { text throws(HookError) in try parseUser(text, field: "process.selinuxLabel", policy: policy) }
        let userMount = try mount.map { text throws(HookError) in try parseUser(text, field: "linux.mountLabel", policy: policy) }
        var out = Labels(process: process, mount: mount)

        // The level the container has already, from its own labels.
        let given: (range: String?, from: String)? =
            userProcess.map { ($0.range, "process.selinuxLabel") } ?? userMount.map { ($0.range, "linux.mountLabel") }

        let range: String?
        if let given {
            range = given.range
            try claim(range, key: key, allocator: allocator)
            // Two user labels with different levels: both are in use.
            if let p = userProcess, let m = userMount, p.range != m.range {
                try claim(m.range, key: key, allocator: allocator)
            }
        } else if mode == .inspect {
            return out
        } else if let level = options.level {
            range = level
            try claim(level, key: key, allocator: allocator)
        } else {
            let level: MCSLevel
            do {
                level = try allocator.level(for: key, range: policy.categoryRange)
            } catch let error as HookError {
                throw error
            } catch {
                throw HookError(.reservation, "reserve a level for \(key?.description ?? "the container"): \(error)")
            }
            out.reserved = level
            range = level.description
        }
        guard mode == .label else { return out }

        if userProcess == nil {
            let base = policy.contexts.process
            out.process = try generated(
                user: options.user ?? base.user, role: options.role ?? base.role, type: options.type ?? base.type,
                range: range, policy: policy, what: "process label")
            out.setProcess = true
        }
        if userMount == nil {
            let base = policy.contexts.file
            out.mount = try generated(
                user: options.user ?? base.user, role: base.role, type: options.fileType ?? base.type,
                range: range, policy: policy, what: "mount label")
            out.setMount = true
        }
        return out
    }

    private static func parseUser(_ text: String, field: String, policy: Policy) throws(HookError) -> SecurityContext {
        guard let context = SecurityContext(text) else {
            throw HookError(.badLabel, "\(field): malformed SELinux context \"\(text)\"")
        }
        if let validate = policy.validate, !validate(text) {
            throw HookError(.badLabel, "\(field): \"\(text)\" is not valid in the loaded policy")
        }
        return context
    }

    private static func generated(
        user: String, role: String, type: String, range: String?, policy: Policy, what: String
    ) throws(HookError) -> String {
        guard let context = SecurityContext(user: user, role: role, type: type, range: range) else {
            throw HookError(.badLabel, "\(what) \(user):\(role):\(type)\(range.map { ":" + $0 } ?? "") is malformed")
        }
        let text = context.description
        if let validate = policy.validate, !validate(text) {
            throw HookError(.badLabel, "\(what) \"\(text)\" is not valid in the loaded policy")
        }
        return text
    }

    /// Records a level the container already has so no generated level
    /// collides with it. Levels without categories (`s0`) and ranges are
    /// not exclusive to anyone and are not recorded.
    private static func claim(_ range: String?, key: ContainerKey?, allocator: any LevelAllocator) throws(HookError) {
        guard let range, let level = MCSLevel(range), !level.categories.isEmpty, let key else { return }
        do {
            try allocator.claim(level, for: key)
        } catch let error as HookError {
            throw error
        } catch {
            throw HookError(.reservation, "record level \(level) for \(key): \(error)")
        }
    }
}

extension ContainerKey {
    /// Annotations CRI runtimes set to the pod's sandbox id (containerd,
    /// CRI-O); every container of the pod shares the sandbox's level.
    public static let sandboxAnnotations = ["io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID"]

    /// Pod sandbox id first (pods share a level), then the absolute root
    /// path (stable per container under podman, and the same in precreate
    /// and at runtime stages). nil when neither is known.
    public static func derive(sandboxID: String?, rootPath: String?) -> ContainerKey? {
        let alive = rootPath.map(livenessPath)
        if let sandboxID { return ContainerKey(key: "sandbox:\(sandboxID)", rootPath: alive) }
        if let rootPath { return ContainerKey(key: "root:\(rootPath)", rootPath: alive) }
        return nil
    }

    /// What must exist while the container does. With overlay (podman's
    /// default storage driver) root.path is the layer's `merged` mount
    /// point, which containers/storage removes when it unmounts a stopped
    /// container; the layer directory above it lives until `podman rm`.
    /// Judging by `merged` would let gc free a stopped container's level.
    public static func livenessPath(_ rootPath: String) -> String {
        let suffix = "/merged"
        guard rootPath.hasSuffix(suffix), rootPath.utf8.count > suffix.utf8.count else { return rootPath }
        return String(rootPath.dropLast(suffix.count))
    }

    /// The key of a config, the same in precreate and at every runtime
    /// stage: relative root paths are taken against `base` (the bundle),
    /// and an empty sandbox id annotation counts as none.
    static func derive(from config: OCIConfig, base: String?) throws(HookError) -> ContainerKey? {
        let rootPath = try oci { () throws(OCIError) in try config.rootPath() }
        var sandbox: String?
        for name in sandboxAnnotations where sandbox == nil {
            if let id = try oci({ () throws(OCIError) in try config.annotation(name) }), !id.isEmpty { sandbox = id }
        }
        return derive(sandboxID: sandbox, rootPath: rootPath.flatMap { Paths.absolute($0, base: base) })
    }
}
