import SVirtJSON
import SVirtOCI
import SVirtSELinux
import SVirtPaths

/// Config + request + policy -> draft: pure. What the draft cannot know
/// without the reservation store, the level, it names as its `need`; Apply
/// takes it, then completes the plan with `Draft.plan(level:)`, also pure.
public enum Planner {
    public enum Mode: Sendable {
        /// precreate, pipe, `--bundle`: add missing labels, strip z/Z.
        case label
        /// Runtime stages: the runtime already holds the config, so only
        /// read the labels it has and plan the relabels they imply.
        case inspect
    }

    /// `paths` answers what the plan must know of the file system: where
    /// a relabel rule's source really is, what outlives a containerd task's
    /// root (PathFacts). Asked only when there are rules or such a task.
    public static func plan(config input: OCIConfig, settings: HookSettings, policy: Policy,
                            mode: Mode = .label, paths: PathFacts = .none) throws(HookError) -> Draft {
        var config = input
        let request = try Request(annotations: oci { () throws(OCIError) in try config.annotations() })
        let mounts = try oci { () throws(OCIError) in try config.mounts() }
        var relabels = try relabelRequests(mounts, request: request, settings: settings)
        let ruled = ruleMatches(mounts, requested: relabels, settings: settings, resolve: paths.realPath)
        for (index, match) in ruled { relabels[index] = match.mode }
        var changed = false
        if mode == .label {
            // Runtimes do not know z/Z; podman strips them too.
            for mount in mounts where mount.options.contains("z") || mount.options.contains("Z") {
                try oci { () throws(OCIError) in
                    try config.setMountOptions(mount.options.filter { $0 != "z" && $0 != "Z" }, at: mount.index)
                }
                changed = true
            }
        }
        func unlabeled(notice: String?) -> Draft {
            Draft(config: config, changed: changed, disabled: true, mounts: mounts, relabels: [:],
                  rootMode: nil, key: nil, labels: nil, settings: settings, policy: policy, mode: mode,
                  skipLabeled: request.skipLabeled, notices: notice.map { [$0] } ?? [])
        }
        if request.options.disable { return unlabeled(notice: nil) }
        let processLabel = try oci { () throws(OCIError) in try config.processLabel() }
        let mountLabel = try oci { () throws(OCIError) in try config.mountLabel() }
        var options = request.options
        // As Docker and podman: a container sharing the host's PID or IPC
        // namespace, or privileged, is not labeled, unless someone chose
        // its label (the config's labels, label options) or the admin named
        // a type for such containers.
        if processLabel == nil, mountLabel == nil, options.isEmpty {
            let access = try oci { () throws(OCIError) in try config.hostAccess() }
            if access.any {
                guard let type = settings.privilegedType else {
                    return unlabeled(notice: "container shares \(access): left unlabeled, as Docker and podman do (--privileged-type TYPE labels such containers)")
                }
                options.type = type
            }
        }
        let key = try ContainerKey.derive(from: config, base: settings.baseDirectory, paths: paths)
        let labels = try LabelDraft(process: processLabel, mount: mountLabel, options: options,
                                    policy: policy, key: key, mode: mode)
        if mode == .label, processLabel == nil, mountLabel == nil,
           try oci({ () throws(OCIError) in try config.annotation("io.container.manager") }) == "libpod" {
            for index in podmanContainerFiles(mounts, exists: { paths.realPath($0) != nil }) where (relabels[index] ?? nil) == nil {
                relabels[index] = .private
            }
        }
        let rootMode = relabels.removeValue(forKey: nil) ?? nil
        var draft = Draft(config: config, changed: changed, disabled: false, mounts: mounts, relabels: relabels,
                          rootMode: rootMode, key: key, labels: labels, settings: settings, policy: policy, mode: mode,
                          skipLabeled: request.skipLabeled)
        draft.ruled = ruled
        return draft
    }

    /// The files podman writes for each container and bind-mounts into it
    /// (/etc/hosts, /etc/resolv.conf, /etc/hostname, /run/.containerenv,
    /// the /dev/shm directory), all under its storage's
    /// `DRIVER-containers/ID/userdata/`. podman gives them the container's
    /// file label when it labels the container itself; when svirt-hook is
    /// the labeler (`label = false`) nobody would, and the container could
    /// not read its own hosts and resolv.conf. They are the container's
    /// own, so they get its private label; a few files, a cheap relabel.
    /// Only those that exist: podman writes them before it runs precreate,
    /// and a config replayed elsewhere must not fail on them.
    static func podmanContainerFiles(_ mounts: [OCIMount], exists: (String) -> Bool) -> [Int] {
        mounts.filter { mount in
            guard mount.isBind, let source = mount.source, LexicalPath.isAbsolute(source), exists(source) else { return false }
            let parts = source.split(separator: "/")
            guard parts.count >= 4, parts[parts.count - 2] == "userdata",
                  parts[parts.count - 4].hasSuffix("-containers") else { return false }
            return ContainerHolder.isID(parts[parts.count - 3])
        }.map(\.index)
    }

    /// A bind mount the container asked nothing for, whose source resolves
    /// into a rule's directory: the rule with the longest directory wins.
    /// The match keeps the resolved source and the directory, so the
    /// relabeler walks what was judged and refuses it if it has moved out.
    static func ruleMatches(_ mounts: [OCIMount], requested: [Int?: RelabelMode?], settings: HookSettings,
                            resolve: (String) -> String?) -> [Int: RuleMatch] {
        guard !settings.sourceRules.isEmpty else { return [:] }
        let rules = settings.sourceRules.map { rule in
            (rule, LexicalPath.normalize(resolve(rule.directory) ?? rule.directory))
        }.sorted { $0.1.utf8.count > $1.1.utf8.count }
        var out: [Int: RuleMatch] = [:]
        for mount in mounts where mount.isBind && (requested[mount.index] ?? nil) == nil {
            guard let source = mount.source, !source.isEmpty,
                  let absolute = LexicalPath.absolute(source, base: settings.baseDirectory),
                  let real = resolve(absolute).map(LexicalPath.normalize) else { continue }
            if let (rule, directory) = rules.first(where: { LexicalPath.isInside(real, $0.1) }) {
                out[mount.index] = RuleMatch(mode: rule.mode, directory: directory, source: real)
            }
        }
        return out
    }

    /// Relabel requests by mount index (nil: the root file system), from
    /// z/Z options, the `io.svirt.relabel` annotation and `--relabel-root`.
    static func relabelRequests(_ mounts: [OCIMount], request: Request,
                                settings: HookSettings) throws(HookError) -> [Int?: RelabelMode?] {
        var wanted: [Int?: RelabelMode?] = [nil: settings.relabelRoot]
        for mount in mounts {
            let z = mount.options.contains("z"), Z = mount.options.contains("Z")
            guard z || Z else { continue }
            let field = "mounts[\(mount.index)] (\(mount.destination))"
            if z && Z { throw HookError(.badInput, "\(field): both z and Z relabel options") }
            guard mount.isBind else { throw HookError(.badInput, "\(field): z/Z relabel applies to bind mounts only") }
            wanted[mount.index] = z ? .shared : .private
        }
        for (destination, relabelMode) in request.relabels {
            if destination == "/" { wanted[nil] = relabelMode; continue }
            // The last mount at a destination is the one the container sees.
            // Byte comparison: canonically equivalent spellings are different paths to the kernel.
            guard let mount = mounts.last(where: { LexicalPath.normalize($0.destination).utf8.elementsEqual(destination.utf8) }) else {
                throw HookError(.badInput, "annotation \(Request.relabelAnnotation): no mount at \(destination)")
            }
            if let previous = wanted[mount.index] ?? nil, previous != relabelMode {
                throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): both z and Z requested")
            }
            guard mount.isBind else {
                throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): z/Z relabel applies to bind mounts only")
            }
            wanted[mount.index] = relabelMode
        }
        return wanted
    }
}

/// A bind mount an admin's relabel rule matched (SourceRule).
struct RuleMatch: Sendable, Equatable {
    let mode: RelabelMode
    /// The rule's directory, resolved.
    let directory: String
    /// The mount's source, resolved.
    let source: String
}

/// The level a draft needs before its labels are final.
public enum LevelNeed: Equatable, Sendable {
    /// None: no labels, or only labels without categories.
    case none
    /// Levels the container has already (user labels, a `level:` option),
    /// to record so no generated level collides with them.
    case claim([MCSLevel], key: ContainerKey)
    /// A fresh level for `key` from `range` (nil key: neither a root path
    /// nor a pod is known, and a recording allocator must refuse).
    case reserve(key: ContainerKey?, range: CategoryRange)
}

/// Everything the planner decided, waiting for the level (see LevelNeed).
public struct Draft: Sendable {
    /// The config so far (z/Z options stripped); labels go in with the level.
    var config: OCIConfig
    var changed: Bool
    let disabled: Bool
    let mounts: [OCIMount]
    /// Relabel modes by mount index, the root file system's apart.
    let relabels: [Int?: RelabelMode?]
    let rootMode: RelabelMode?
    let key: ContainerKey?
    /// nil: `label=disable`.
    let labels: LabelDraft?
    let settings: HookSettings
    let policy: Policy
    let mode: Planner.Mode
    let skipLabeled: Bool
    /// Lines for stderr and syslog about what the plan decided.
    var notices: [String] = []
    /// Mounts relabeled because an admin rule names their source.
    var ruled: [Int: RuleMatch] = [:]

    public var need: LevelNeed { labels?.need ?? .none }

    /// The plan, given the level reserved for a `.reserve` need (nil for
    /// any other need).
    public func plan(level: MCSLevel?) throws(HookError) -> Plan {
        var config = self.config
        var changed = self.changed
        guard let draft = labels else {
            return Plan(config: config, configChanged: changed, disabled: true, processLabel: nil, mountLabel: nil,
                        reservedLevel: nil, key: nil, relabels: [], notices: notices)
        }
        var labels = try draft.labels(level: level)
        if mode == .label {
            if let p = labels.process, labels.setProcess {
                if config.hasProcess {
                    try oci { () throws(OCIError) in try config.setProcessLabel(p) }
                    changed = true
                } else {
                    labels.process = nil // no process to label: nothing runs under it
                }
            }
            if let m = labels.mount, labels.setMount {
                try oci { () throws(OCIError) in try config.setMountLabel(m) }
                changed = true
            }
        }
        let targets = try labels.mount.map { label throws(HookError) in try relabelTargets(fileLabel: label, config: config) } ?? []
        return Plan(config: config, configChanged: changed, disabled: false, processLabel: labels.process,
                    mountLabel: labels.mount, reservedLevel: labels.reserved, key: key, relabels: targets,
                    skipLabeled: skipLabeled)
    }

    /// Read-only mounts get the same label as writable ones, not the
    /// policy's ro_file type: `ro` is enforced by the mount, and a private
    /// Z label keeps MCS separation that container_ro_file_t (shared by
    /// every container) would give up.
    private func relabelTargets(fileLabel: String, config: OCIConfig) throws(HookError) -> [RelabelTarget] {
        guard let parsed = SecurityContext(fileLabel) else { return [] }
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
        var targets: [RelabelTarget] = []
        for mount in mounts {
            guard let m = relabels[mount.index] ?? nil else { continue }
            guard let source = mount.source, !source.isEmpty else {
                throw HookError(.badInput, "mounts[\(mount.index)] (\(mount.destination)): relabel requested but no source")
            }
            guard let path = LexicalPath.absolute(source, base: settings.baseDirectory) else {
                throw HookError(.badInput, "mounts[\(mount.index)].source \(source) is relative and the bundle directory is unknown")
            }
            if let rule = ruled[mount.index] {
                targets.append(RelabelTarget(destination: mount.destination, source: rule.source, label: try label(m),
                                             mode: m, within: rule.directory))
            } else {
                targets.append(RelabelTarget(destination: mount.destination, source: path, label: try label(m), mode: m))
            }
        }
        if let m = rootMode {
            guard let rootPath = try oci({ () throws(OCIError) in try config.rootPath() }) else {
                throw HookError(.badInput, "root relabel requested but root.path is missing")
            }
            guard let path = LexicalPath.absolute(rootPath, base: settings.baseDirectory) else {
                throw HookError(.badInput, "root.path \(rootPath) is relative and the bundle directory is unknown")
            }
            targets.append(RelabelTarget(destination: "/", source: path, label: try label(m), mode: m))
        }
        return targets
    }
}

/// The container's labels as far as they are known without the level:
/// user labels kept, the rest to generate once the level is there.
struct LabelDraft: Sendable {
    struct Labels {
        var process: String?
        var mount: String?
        var setProcess = false
        var setMount = false
        var reserved: MCSLevel?
    }

    let process: String?
    let mount: String?
    let userProcess: SecurityContext?
    let userMount: SecurityContext?
    let options: LabelOptions
    let policy: Policy
    let mode: Planner.Mode
    /// The level the labels get when it does not come from a reservation.
    let range: String?
    let need: LevelNeed

    /// Keeps user labels; fills in what is missing. If only one label is
    /// set, the other takes its level, so process and files still match.
    init(process: String?, mount: String?, options: LabelOptions, policy: Policy,
         key: ContainerKey?, mode: Planner.Mode) throws(HookError) {
        self.process = process
        self.mount = mount
        self.options = options
        self.policy = policy
        self.mode = mode
        userProcess = try process.map { text throws(HookError) in
            try LabelDraft.parseUser(text, field: "process.selinuxLabel", policy: policy)
        }
        userMount = try mount.map { text throws(HookError) in
            try LabelDraft.parseUser(text, field: "linux.mountLabel", policy: policy)
        }
        // The level the container has already, from its own labels.
        if userProcess != nil || userMount != nil {
            let given = userProcess.map { $0.range } ?? userMount?.range
            range = given
            var held = [given]
            // Two user labels with different levels: both are in use.
            if let p = userProcess, let m = userMount, p.range != m.range { held.append(m.range) }
            need = LabelDraft.claiming(held, key: key)
        } else if mode == .inspect {
            range = nil
            need = .none
        } else if let level = options.level {
            range = level
            need = LabelDraft.claiming([level], key: key)
        } else {
            range = nil
            need = .reserve(key: key, range: policy.categoryRange)
        }
    }

    /// Levels without categories (`s0`) and ranges are not exclusive to
    /// anyone and are not recorded.
    private static func claiming(_ ranges: [String?], key: ContainerKey?) -> LevelNeed {
        let levels = ranges.compactMap { $0.flatMap(MCSLevel.init) }.filter { !$0.categories.isEmpty }
        guard let key, !levels.isEmpty else { return .none }
        return .claim(levels, key: key)
    }

    func labels(level: MCSLevel?) throws(HookError) -> Labels {
        var out = Labels(process: process, mount: mount)
        let reserving: Bool
        if case .reserve = need { reserving = true } else { reserving = false }
        if reserving {
            guard let level else { throw HookError(.reservation, "no level was reserved for the container") }
            out.reserved = level
        }
        guard mode == .label else { return out }
        let range = reserving ? level?.description : self.range
        if userProcess == nil {
            let base = policy.contexts.process
            out.process = try LabelDraft.generated(
                user: options.user ?? base.user, role: options.role ?? base.role, type: options.type ?? base.type,
                range: range, policy: policy, what: "process label",
                typeSource: options.type != nil ? "asked for by label option type" : policy.naming("process"))
            out.setProcess = true
        }
        if userMount == nil {
            let base = policy.contexts.file
            out.mount = try LabelDraft.generated(
                user: options.user ?? base.user, role: base.role, type: options.fileType ?? base.type,
                range: range, policy: policy, what: "mount label",
                typeSource: options.fileType != nil ? "asked for by label option filetype" : policy.naming("file"))
            out.setMount = true
        }
        return out
    }

    private static func parseUser(_ text: String, field: String, policy: Policy) throws(HookError) -> SecurityContext {
        guard let context = SecurityContext(text) else {
            throw HookError(.badLabel, "\(field): malformed SELinux context \"\(text)\"")
        }
        if let validate = policy.validate, !validate(text) {
            throw policy.missingType(context, namedBy: "in \(field)")
                ?? HookError(.badLabel, "\(field): \"\(text)\" is not valid in the loaded policy")
        }
        return context
    }

    static func generated(
        user: String, role: String, type: String, range: String?, policy: Policy, what: String, typeSource: String
    ) throws(HookError) -> String {
        guard let context = SecurityContext(user: user, role: role, type: type, range: range) else {
            throw HookError(.badLabel, "\(what) \(user):\(role):\(type)\(range.map { ":" + $0 } ?? "") is malformed")
        }
        let text = context.description
        if let validate = policy.validate, !validate(text) {
            throw policy.missingType(context, namedBy: typeSource) ?? HookError(.badLabel, "\(what) \"\(text)\" is not valid in the loaded policy")
        }
        return text
    }
}

extension ContainerKey {
    /// Annotations CRI runtimes set to the pod's sandbox id (containerd,
    /// CRI-O); every container of the pod shares the sandbox's level.
    public static let sandboxAnnotations = ["io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID"]

    /// Pod sandbox id first (pods share a level), then a containerd
    /// container (its root lives with the task, the container longer), then
    /// the absolute root path (stable per container under podman and
    /// Docker, and the same in precreate and at runtime stages). nil when
    /// none is known.
    public static func derive(sandboxID: String?, rootPath: String?, task: ContainerdTask? = nil) -> ContainerKey? {
        let alive = rootPath.map(livenessPath)
        if let sandboxID { return ContainerKey(key: "sandbox:\(sandboxID)", rootPath: alive) }
        if let task { return ContainerKey(key: "containerd:\(task.namespace)/\(task.id)", rootPath: task.snapshot) }
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
    static func derive(from config: OCIConfig, base: String?, paths: PathFacts = .none) throws(HookError) -> ContainerKey? {
        let rootPath = try oci { () throws(OCIError) in try config.rootPath() }.flatMap { LexicalPath.absolute($0, base: base) }
        var sandbox: String?
        for name in sandboxAnnotations where sandbox == nil {
            if let id = try oci({ () throws(OCIError) in try config.annotation(name) }), !id.isEmpty { sandbox = id }
        }
        let task = sandbox == nil ? ContainerdTask(bundle: base, rootPath: rootPath, paths: paths) : nil
        var key = derive(sandboxID: sandbox, rootPath: rootPath, task: task)
        key?.holder = ContainerHolder.describe(config, sandboxID: sandbox, bundle: base)
        return key
    }
}

/// A container run by containerd outside Kubernetes (ctr, nerdctl): the
/// shim runs the runtime in `STATE/io.containerd.runtime.v2.task/NS/ID`
/// with the root mounted at `rootfs` inside it. That directory goes with
/// the task (`ctr task delete`) while the container, and the snapshot
/// holding its files, stays until `ctr container delete`: a level keyed on
/// the root path would be freed by gc and the next task would get another,
/// leaving its Z volume unreadable. So the key is the namespace and id,
/// and liveness is the snapshot.
public struct ContainerdTask: Equatable, Sendable {
    public var namespace: String
    public var id: String
    /// What outlives the task: the root mount's persistent source.
    public var snapshot: String

    /// nil unless `bundle` is a containerd task directory, the root is
    /// inside it, and what is mounted there has a persistent source (an
    /// unmounted root, e.g. at poststop, falls back to the root path key).
    /// Docker runs in namespace `moby` with its root under /var/lib/docker,
    /// which already lives as long as the container: not a task root.
    init?(bundle: String?, rootPath: String?, paths: PathFacts) {
        guard let bundle, let rootPath, LexicalPath.isInside(rootPath, bundle), rootPath != bundle,
              let (namespace, id) = Self.identify(bundle: bundle),
              let snapshot = paths.persistentSource(rootPath) else { return nil }
        self.namespace = namespace
        self.id = id
        self.snapshot = snapshot
    }

    /// `.../io.containerd.runtime.v2.task/NS/ID` (the v1 `linux` runtime's
    /// `.../io.containerd.runtime.v1.linux/NS/ID` too).
    static func identify(bundle: String) -> (namespace: String, id: String)? {
        let parts = bundle.split(separator: "/").map(String.init)
        guard parts.count >= 3 else { return nil }
        let runtime = parts[parts.count - 3]
        guard runtime == "io.containerd.runtime.v2.task" || runtime == "io.containerd.runtime.v1.linux" else { return nil }
        return (parts[parts.count - 2], parts[parts.count - 1])
    }
}
