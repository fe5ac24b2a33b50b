import SVirtSELinux

/// `svirt-hook doctor`: what a host looks like to the hook, judged. The
/// executable gathers `DoctorFacts` from the system; everything here is
/// pure, so each broken host is a unit test.
public enum Doctor {
    public static func checks(_ facts: DoctorFacts) -> [DoctorCheck] {
        [
            selinux(facts.selinux),
            policyTypes(facts),
            categoryRange(facts),
            stateDirectory(facts.store),
            relabelLocks(facts.relabelLocks),
            podmanHooks(facts.podman),
            crioHooks(facts.crioPrecreateFiles),
            registrations(facts),
            gcTimer(facts.gcTimer),
            levels(facts),
        ]
    }

    static func selinux(_ mode: SELinuxState) -> DoctorCheck {
        switch mode {
        case .enforcing: return .ok("selinux", "on, enforcing")
        case .permissive:
            return .warn("selinux", "on, permissive: denials are logged, not enforced", fix: "setenforce 1, and SELINUX=enforcing in /etc/selinux/config")
        case .off:
            return .warn("selinux", "off: with --selinux=auto the hook passes every container through unlabeled",
                         fix: "enable SELinux (Debian: apt-get install selinux-basics selinux-policy-default && selinux-activate, then reboot)")
        }
    }

    static func policyTypes(_ facts: DoctorFacts) -> DoctorCheck {
        let name = "policy-types"
        guard let path = facts.contextsPath else {
            return facts.selinux == .off
                ? .ok(name, "not checked: SELinux is off and no lxc_contexts is configured")
                : .fail(name, "libselinux names no lxc_contexts file", fix: "install the policy's contexts, or pass --contexts FILE in the registrations")
        }
        guard let contexts = facts.contexts else {
            let why = facts.contextsError ?? "unreadable"
            // With SELinux off there is usually no policy installed at all,
            // and the hook passes containers through without reading it.
            return facts.selinux == .off
                ? .ok(name, "not checked: SELinux is off (\(why))")
                : .fail(name, "\(why)", fix: "reinstall the policy package that owns \(path)")
        }
        let types = contexts.containerTypes
        guard facts.selinux != .off else {
            return .ok(name, "not checked: SELinux is off (\(path) names \(types.joined(separator: ", ")))")
        }
        let missing = types.filter { !facts.knownTypes.contains($0) }
        if missing.isEmpty { return .ok(name, "the policy defines \(types.joined(separator: ", ")) (named in \(path))") }
        return .fail(name, "the policy lacks \(missing.joined(separator: ", ")), named in \(path)",
                     fix: "make install-policy (or the svirt-hook package); Fedora/RHEL: install container-selinux")
    }

    static func categoryRange(_ facts: DoctorFacts) -> DoctorCheck {
        let name = "category-range"
        guard facts.selinux != .off else { return .ok(name, "c0.c1023 (SELinux off: the hook's default)") }
        guard let context = facts.ownContext, let range = HostPolicy.categoryRange(ofContext: context) else {
            return .fail(name, "cannot read this process's SELinux context", fix: "run doctor as the engine's user")
        }
        guard range.count >= 2 else {
            return .fail(name, "\(context) allows \(range.count) category: no two-category level can be drawn", fix: "run the engine in a domain with a category range (e.g. s0-s0:c0.c1023)")
        }
        return .ok(name, "c\(range.lower).c\(range.upper) from \(context): \(LevelDraw.pairCount(in: range)) levels")
    }

    static func stateDirectory(_ store: StoreFacts) -> DoctorCheck {
        let name = "state-dir"
        let dir = store.directory
        if let problem = store.problem { return .fail(name, "\(dir): \(problem)", fix: store.fix ?? "see svirt-hook(1) RESERVATIONS") }
        guard store.exists else {
            return .ok(name, "\(dir) does not exist yet; the first container creates it (parent: \(store.fileSystem ?? "unknown") file system)")
        }
        return .ok(name, "\(dir): local \(store.fileSystem ?? "") file system, writable, RENAME_NOREPLACE and flock work")
    }

    static func relabelLocks(_ locks: DirectoryFacts) -> DoctorCheck {
        let name = "relabel-locks"
        if let problem = locks.problem { return .fail(name, "\(locks.path): \(problem)", fix: "make \(locks.path) a writable directory (root, mode 0700)") }
        return locks.exists ? .ok(name, "\(locks.path) is writable") : .ok(name, "\(locks.path) does not exist yet; the first relabel creates it")
    }

    static func podmanHooks(_ podman: PodmanFacts?) -> DoctorCheck {
        let name = "podman-hooks"
        guard let podman else { return .ok(name, "podman is not installed") }
        let dirs = podman.hooksDirs.joined(separator: ", ")
        let from = podman.setBy.map { "set by \($0)" } ?? "podman's default"
        guard podman.precreateDirs.isEmpty == false else {
            return .fail(name, "podman reads hooks_dir [\(dirs)] (\(from)): no svirt-hook precreate registration there",
                         fix: "add the directory of 50-svirt-hook-precreate.json to hooks_dir in \(podman.setBy ?? "/etc/containers/containers.conf.d/50-svirt-hook.conf")")
        }
        if let user = podman.usersWithout.first {
            return .warn(name, "root's podman runs the precreate hook, but \(user.configFile) sets hooks_dir without it, so \(user.name)'s rootless podman does not",
                         fix: "add the precreate directory to hooks_dir in \(user.configFile)")
        }
        return .ok(name, "podman reads hooks_dir [\(dirs)] (\(from)); precreate registered in \(podman.precreateDirs.joined(separator: ", "))")
    }

    static func crioHooks(_ files: [String]) -> DoctorCheck {
        guard files.isEmpty else {
            return .fail("crio-hooks", "a precreate registration sits where CRI-O reads hooks: \(files.joined(separator: ", ")); CRI-O refuses every container on an unknown stage",
                         fix: "move it to the podman-only directory (make install puts it in PREFIX/share/svirt-hook/hooks.d)")
        }
        return .ok("crio-hooks", "no precreate registration in CRI-O's hook directories")
    }

    static func registrations(_ facts: DoctorFacts) -> DoctorCheck {
        let name = "registrations"
        let ours = facts.registrations.filter(\.isSVirtHook)
        guard !ours.isEmpty else { return .fail(name, "no hooks.d file runs svirt-hook", fix: "make install (or install the svirt-hook package)") }
        if let broken = ours.first(where: { !facts.executables.contains($0.path) }) {
            return .fail(name, "\(broken.file) runs \(broken.path), which is not an executable", fix: "make install, or fix hook.path in \(broken.file)")
        }
        for option in ["--state-dir", "--selinux"] {
            let values = Set(ours.map { $0.option(option) ?? "(default)" })
            if values.count > 1 {
                let detail = ours.map { "\($0.file): \($0.option(option) ?? "(default)")" }.joined(separator: "; ")
                return .fail(name, "the registrations disagree on \(option): \(detail)",
                             fix: "give every registration the same \(option) (make install HOOK_FLAGS=...)")
            }
        }
        if let gc = facts.gcStateDirectory {
            let hook = ours.first?.option("--state-dir") ?? HookOptions.defaultStateDirectory
            if gc != hook {
                return .fail(name, "the gc service uses --state-dir \(gc), the hooks \(hook)", fix: "make install GC_FLAGS='--state-dir \(hook)'")
            }
        }
        return .ok(name, "\(ours.count) svirt-hook registrations, all executable, one --state-dir and --selinux")
    }

    static func gcTimer(_ timer: TimerState) -> DoctorCheck {
        switch timer {
        case .enabled: return .ok("gc-timer", "svirt-hook-gc.timer is enabled")
        case .disabled:
            return .warn("gc-timer", "svirt-hook-gc.timer is installed but not enabled: levels of containers removed without poststop stay held",
                         fix: "systemctl enable --now svirt-hook-gc.timer")
        case .missing:
            return .warn("gc-timer", "svirt-hook-gc.timer is not installed", fix: "make install, or run `svirt-hook gc` hourly from cron")
        case .noSystemd:
            return .warn("gc-timer", "systemd is not running here", fix: "run `svirt-hook gc` hourly from cron")
        }
    }

    static func levels(_ facts: DoctorFacts) -> DoctorCheck {
        let name = "levels"
        guard let held = facts.heldLevels else {
            return facts.store.exists ? .fail(name, "cannot list the store: \(facts.listError ?? "unknown error")", fix: "svirt-hook list --state-dir \(facts.store.directory)") : .ok(name, "none held (no store yet)")
        }
        let range = facts.selinux == .off ? CategoryRange.full : (facts.ownContext.flatMap(HostPolicy.categoryRange(ofContext:)) ?? .full)
        let total = LevelDraw.pairCount(in: range)
        let free = max(0, total - held)
        if free == 0 { return .fail(name, "\(held) held, none free", fix: "svirt-hook gc; svirt-hook list shows who holds them") }
        if free * 10 < total { return .warn(name, "\(held) held, \(free) free (under 10%)", fix: "svirt-hook gc") }
        return .ok(name, "\(held) held, \(free) free")
    }
}

public enum SELinuxState: String, Sendable { case off, permissive, enforcing }

public enum TimerState: Sendable { case enabled, disabled, missing, noSystemd }

public struct DoctorCheck: Equatable, Sendable {
    public enum Status: String, Sendable { case ok, warn, fail }
    public var name: String
    public var status: Status
    public var detail: String
    public var fix: String?

    static func ok(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, status: .ok, detail: detail, fix: nil) }
    static func warn(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .warn, detail: detail, fix: fix) }
    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .fail, detail: detail, fix: fix) }

    /// `STATUS NAME: detail (fix: ...)`, one line.
    public var line: String {
        let pad = String(repeating: " ", count: max(0, 4 - status.rawValue.count))
        return "\(status.rawValue)\(pad) \(name): \(detail)" + (fix.map { " (fix: \($0))" } ?? "")
    }
}

public struct StoreFacts: Equatable, Sendable {
    public var directory: String
    public var exists: Bool
    /// The file system's name (ext4, tmpfs, nfs, ...) where known.
    public var fileSystem: String?
    /// What makes it unusable, nil when it is fine.
    public var problem: String?
    public var fix: String?
    public init(directory: String, exists: Bool, fileSystem: String? = nil, problem: String? = nil, fix: String? = nil) {
        self.directory = directory
        self.exists = exists
        self.fileSystem = fileSystem
        self.problem = problem
        self.fix = fix
    }
}

public struct DirectoryFacts: Equatable, Sendable {
    public var path: String
    public var exists: Bool
    public var problem: String?
    public init(path: String, exists: Bool, problem: String? = nil) {
        self.path = path
        self.exists = exists
        self.problem = problem
    }
}

public struct PodmanFacts: Equatable, Sendable {
    public struct User: Equatable, Sendable {
        public var name: String
        public var configFile: String
        public init(name: String, configFile: String) { self.name = name; self.configFile = configFile }
    }
    /// The hooks_dir podman ends up with, and the file that set it last
    /// (nil: podman's built-in default).
    public var hooksDirs: [String]
    public var setBy: String?
    /// Those of `hooksDirs` holding an svirt-hook precreate registration.
    public var precreateDirs: [String]
    /// Users whose own containers.conf replaces hooks_dir without one.
    public var usersWithout: [User]
    public init(hooksDirs: [String], setBy: String?, precreateDirs: [String], usersWithout: [User] = []) {
        self.hooksDirs = hooksDirs
        self.setBy = setBy
        self.precreateDirs = precreateDirs
        self.usersWithout = usersWithout
    }
}

public struct DoctorFacts: Sendable {
    public var selinux: SELinuxState
    public var contextsPath: String?
    public var contexts: LXCContexts?
    public var contextsError: String?
    /// Those of lxc_contexts' types the loaded policy defines.
    public var knownTypes: Set<String>
    public var ownContext: String?
    public var store: StoreFacts
    public var relabelLocks: DirectoryFacts
    /// nil when podman is not installed.
    public var podman: PodmanFacts?
    public var crioPrecreateFiles: [String]
    /// Every hooks.d file found in podman's and CRI-O's directories.
    public var registrations: [HookRegistration]
    /// Those of the registrations' paths that are executable files.
    public var executables: Set<String>
    /// The gc service's --state-dir, when its unit is installed.
    public var gcStateDirectory: String?
    public var gcTimer: TimerState
    public var heldLevels: Int?
    public var listError: String?

    public init(selinux: SELinuxState, contextsPath: String? = nil, contexts: LXCContexts? = nil, contextsError: String? = nil,
                knownTypes: Set<String> = [], ownContext: String? = nil, store: StoreFacts, relabelLocks: DirectoryFacts,
                podman: PodmanFacts? = nil, crioPrecreateFiles: [String] = [], registrations: [HookRegistration] = [],
                executables: Set<String> = [], gcStateDirectory: String? = nil, gcTimer: TimerState = .enabled,
                heldLevels: Int? = nil, listError: String? = nil) {
        self.selinux = selinux
        self.contextsPath = contextsPath
        self.contexts = contexts
        self.contextsError = contextsError
        self.knownTypes = knownTypes
        self.ownContext = ownContext
        self.store = store
        self.relabelLocks = relabelLocks
        self.podman = podman
        self.crioPrecreateFiles = crioPrecreateFiles
        self.registrations = registrations
        self.executables = executables
        self.gcStateDirectory = gcStateDirectory
        self.gcTimer = gcTimer
        self.heldLevels = heldLevels
        self.listError = listError
    }
}
