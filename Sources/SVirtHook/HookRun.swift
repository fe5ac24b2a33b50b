import SVirtJSON
import SVirtOCI
import SVirtSELinux
import SVirtPaths

/// The hook's settings, from its command line (see HookCommand).
public struct HookOptions: Sendable, Equatable {
    public enum SELinuxMode: String, Sendable, Equatable, CaseIterable {
        /// Label when the host has SELinux on; pass through otherwise.
        case auto
        /// Label even when the host has SELinux off (tests, configs for another host).
        case on
        /// Pass through.
        case off
    }

    public var selinux: SELinuxMode = .auto
    public var contextsFile: String?
    public var stage: HookStage?
    public var bundle: String?
    public var requireLabel = false
    /// `--state-dir`; nil: the caller's own (defaultStateDirectory(uid:home:)),
    /// looked up only when a run opens its store.
    public var stateDirectory: String?
    public static let defaultStateDirectory = "/var/lib/svirt-hook"

    /// The store a caller gets without --state-dir. root's is the system's.
    /// Anyone else cannot write that one: rootless podman runs its hooks as
    /// the user, with an empty environment, so the user gets a store of
    /// their own, found from the uid: HOME/.local/share/svirt-hook, beside
    /// podman's own rootless storage (~/.local/share/containers), which
    /// keeps it, as podman keeps containers, across reboots. Levels are
    /// unique within it; across users the running-process scan keeps a
    /// fresh level off any level a process runs at, and the users' files
    /// are apart by their owners anyway. nil when the uid has no home.
    public static func defaultStateDirectory(uid: UInt32, home: String?) -> String? {
        if uid == 0 { return defaultStateDirectory }
        guard let home, LexicalPath.isAbsolute(home) else { return nil }
        return (home == "/" ? "" : home) + "/.local/share/svirt-hook"
    }
    public var noReserve = false
    public var relabelRoot: RelabelMode?
    /// See HookSettings.privilegedType.
    public var privilegedType: String?
    /// Read every entry's label on every relabel, not trusting tree stamps.
    public var fullRelabel = false
    /// See HookSettings.sourceRules.
    public var sourceRules: [SourceRule] = []

    public init() {}
}

/// The hook's side-effecting collaborators, composed by the CLI from the
/// real ones and by tests from doubles. Factories are called only when a
/// run needs them, so a pass-through run opens no store and reads no policy.
public struct HookEnvironment {
    public var selinuxEnabled: Bool
    public var loadPolicy: () throws(HookError) -> Policy
    public var allocator: () throws(HookError) -> any LevelAllocator
    public var relabeler: () throws(HookError) -> any MountRelabeler
    /// Returns nil when stopped containers need no bookkeeping (`--no-reserve`).
    /// (A non-optional closure on purpose: as an optional typed-throws
    /// closure returning an existential, calling it crashed under Swift
    /// 6.3.1 with a bad existential projection.)
    public var release: () throws(HookError) -> (any ReservationRelease)?
    /// Reads a bundle's config.json (bounded).
    public var readFile: (String) throws(HookError) -> [UInt8]
    /// Base for relative paths in a piped config.
    public var currentDirectory: String?
    /// See PathFacts.
    public var paths: PathFacts

    public init(
        selinuxEnabled: Bool,
        loadPolicy: @escaping () throws(HookError) -> Policy,
        allocator: @escaping () throws(HookError) -> any LevelAllocator,
        relabeler: @escaping () throws(HookError) -> any MountRelabeler,
        release: @escaping () throws(HookError) -> (any ReservationRelease)?,
        readFile: @escaping (String) throws(HookError) -> [UInt8],
        currentDirectory: String?,
        paths: PathFacts = .none
    ) {
        self.selinuxEnabled = selinuxEnabled
        self.loadPolicy = loadPolicy
        self.allocator = allocator
        self.relabeler = relabeler
        self.release = release
        self.readFile = readFile
        self.currentDirectory = currentDirectory
        self.paths = paths
    }
}

/// What a successful run produces. Nothing is written before the whole run
/// succeeded: the CLI writes this only then.
public struct HookResult: Sendable, Equatable {
    /// Bytes for stdout (precreate/pipe), nil for none.
    public var output: [UInt8]?
    /// A config to write atomically over `path` (`--bundle`).
    public var rewrite: (path: String, bytes: [UInt8])?
    /// Lines for stderr and syslog that are not failures (warnings, an
    /// unlabeled bundle without `--require-label`).
    public var notices: [String] = []

    public static func == (a: HookResult, b: HookResult) -> Bool {
        a.output == b.output && a.rewrite?.path == b.rewrite?.path && a.rewrite?.bytes == b.rewrite?.bytes
            && a.notices == b.notices
    }
}

/// One hook invocation, from input bytes to result.
public enum HookRun {
    /// Inputs above this are refused: a real config is a few KiB, and a
    /// bound keeps a runaway producer from exhausting memory.
    public static let inputLimit = 16 << 20
    /// Nesting above this is refused (configs nest about 6 deep); keeps
    /// parse and write recursion far from the stack's end.
    public static let depthLimit = 128

    /// `input` is stdin's bytes; nil with `--bundle`, which reads DIR/config.json.
    public static func run(input: [UInt8]?, options: HookOptions, environment env: HookEnvironment) throws(HookError) -> HookResult {
        let bytes: [UInt8]
        let configPath: String?
        if let bundle = options.bundle {
            configPath = join(bundle, "config.json")
            bytes = try env.readFile(configPath!)
        } else {
            configPath = nil
            bytes = input ?? []
        }
        let (document, layout) = try parseDocument(bytes, what: configPath ?? "input")
        let labeling = options.selinux == .on || (options.selinux == .auto && env.selinuxEnabled)

        switch document {
        case .config(let config):
            if let stage = options.stage, stage != .precreate {
                // A config handed over at a runtime stage, e.g. by a wrapper.
                guard labeling else { return HookResult() }
                let base = options.bundle ?? env.currentDirectory
                return try runtimeStage(stage, config: config, bundle: base, id: nil, options: options, env: env)
            }
            guard labeling else {
                // Pass-through: the input exactly as it came.
                return configPath == nil ? HookResult(output: bytes) : HookResult()
            }
            return try label(config, bytes: bytes, layout: layout, configPath: configPath, options: options, env: env)
        case .state(let state):
            guard labeling || options.stage == .precreate else { return HookResult() }
            return try stateStage(state, options: options, env: env)
        }
    }

    /// precreate, the filter, `--bundle`: plan, apply, and the bytes to
    /// write. Only what the plan changed differs from the input, down to
    /// the white space: a config nobody changed goes back as it came.
    static func label(_ config: OCIConfig, bytes: [UInt8], layout: JSONLayout, configPath: String?,
                      options: HookOptions, env: HookEnvironment) throws(HookError) -> HookResult {
        let settings = HookSettings(relabelRoot: options.relabelRoot,
                                    baseDirectory: options.bundle ?? env.currentDirectory,
                                    privilegedType: options.privilegedType, sourceRules: options.sourceRules)
        let draft = try Planner.plan(config: config, settings: settings, policy: try env.loadPolicy(), paths: env.paths)
        let (plan, warnings) = try Apply.run(draft, allocator: env.allocator, relabeler: env.relabeler)
        var result = HookResult(notices: warnings)
        let output = plan.configChanged ? JSON.serialize(plan.config.json, over: layout) : bytes
        if let configPath {
            if plan.configChanged { result.rewrite = (configPath, output) }
        } else {
            result.output = output
        }
        return result
    }

    /// A runtime's state on stdin (an OCI hook): the stage it names, run
    /// on its bundle's config.
    static func stateStage(_ state: OCIState, options: HookOptions, env: HookEnvironment) throws(HookError) -> HookResult {
        if options.stage == .precreate {
            throw HookError(.badInput, "--stage precreate expects a config on stdin, found a runtime state")
        }
        guard let stage = options.stage ?? state.stage else {
            throw HookError(.badInput, "state.status \"\(state.status)\" names no hook stage; pass --stage")
        }
        // Nothing happens at poststart: do not even read the bundle.
        if stage == .poststart { return HookResult() }
        guard LexicalPath.isAbsolute(state.bundle) else {
            throw HookError(.badInput, "state.bundle \(state.bundle) is not an absolute path")
        }
        let path = join(state.bundle, "config.json")
        guard case .config(let config) = try parseDocument(try env.readFile(path), what: path).document else {
            throw HookError(.badInput, "\(path): not an OCI config")
        }
        return try runtimeStage(stage, config: config, bundle: state.bundle, id: state.id, options: options, env: env)
    }

    /// Runtime stages: the runtime holds the config already, so the hook
    /// checks the label, relabels requested mounts before start, and
    /// reports the container's end at poststop.
    static func runtimeStage(
        _ stage: HookStage, config: OCIConfig, bundle: String?, id: String?,
        options: HookOptions, env: HookEnvironment
    ) throws(HookError) -> HookResult {
        let settings = HookSettings(relabelRoot: options.relabelRoot, baseDirectory: bundle,
                                    privilegedType: options.privilegedType, sourceRules: options.sourceRules)
        let name = id.map { "container \($0)" } ?? "container"
        let place = bundle.map { " (bundle \($0))" } ?? ""
        var result = HookResult()
        switch stage {
        case .poststop:
            guard let key = try ContainerKey.derive(from: config, base: bundle, paths: env.paths) else { return result }
            guard let releaser = try env.release() else { return result }
            do {
                if let done = try releaser.containerStopped(key) { result.notices.append(done) }
            } catch let error as HookError {
                throw error
            } catch {
                throw HookError(.reservation, "release \(key): \(error)")
            }
            return result
        case .precreate, .poststart:
            return result
        case .prestart, .createRuntime, .createContainer, .startContainer:
            let draft = try Planner.plan(config: config, settings: settings, policy: try env.loadPolicy(), mode: .inspect,
                                         paths: env.paths)
            let plan = try Apply.complete(draft, allocator: env.allocator)
            if plan.disabled {
                result.notices = plan.notices
                return result
            }
            if plan.processLabel == nil {
                let message = "\(name)\(place) has no SELinux label (process.selinuxLabel): runtimes read the config before this \(stage.rawValue) hook; label it in precreate or with --bundle"
                if options.requireLabel { throw HookError(.unlabeled, message) }
                result.notices.append(message)
            }
            if !plan.relabels.isEmpty {
                result.notices += try Apply.relabel(plan, relabeler: env.relabeler(), skippingComplete: true)
            }
            return result
        }
    }

    static func parseDocument(_ bytes: [UInt8], what: String) throws(HookError) -> (document: OCIDocument, layout: JSONLayout) {
        let parsed: JSONDocument
        do {
            parsed = try JSON.parseDocument(bytes, maxDepth: depthLimit)
        } catch {
            throw HookError(.badInput, "\(what): \(error)")
        }
        do {
            return (try OCIDocument(parsed.value), parsed.layout)
        } catch {
            throw HookError(.badInput, "\(what): \(error)")
        }
    }

    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
