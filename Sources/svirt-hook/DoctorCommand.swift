import Glibc
import SVirtAllocation
import SVirtHook
import SVirtJSON
import SVirtSELinux
import SVirtSystem

/// `svirt-hook doctor`: gathers the host's facts (this file) and prints
/// Doctor's judgement of them, one line per check. Exit 0 unless a check
/// fails. `--root DIR` reads the files of a host mounted at DIR (an image,
/// or a test's scratch host); the SELinux facts are always this kernel's.
enum DoctorCommand {
    static let usage = "usage: svirt-hook doctor [--json] [--state-dir DIR] [--contexts FILE] [--root DIR]"

    static func run(_ words: [String]) -> ExitCode {
        let args: Arguments
        do {
            args = try Arguments(words, valued: ["--state-dir", "--contexts", "--root"], booleans: ["--json", "--help"])
        } catch {
            ProcessInfo.writeError("svirt-hook doctor: \(error.description)")
            return .usage
        }
        if args.has("--help") { print(usage); return .success }
        if let extra = args.positional.first {
            ProcessInfo.writeError("svirt-hook doctor: unexpected argument \(AdminCommand.printable(extra)) (see --help)")
            return .usage
        }
        let host = Host(root: args.value("--root") ?? "")
        let facts = host.facts(stateDirectory: args.value("--state-dir"), contextsFile: args.value("--contexts"))
        let checks = Doctor.checks(facts)
        if args.has("--json") {
            var bytes = JSON.serialize(.array(checks.map { check in
                var object = JSONObject()
                object["check"] = .string(check.name)
                object["status"] = .string(check.status.rawValue)
                object["detail"] = .string(check.detail)
                object["fix"] = check.fix.map(JSONValue.string) ?? .null
                return .object(object)
            }), pretty: true)
            if bytes.last != 10 { bytes.append(10) }
            try? FileDescriptor.standardOutput.writeAll(bytes)
        } else {
            for check in checks { print(AdminCommand.printable(check.line)) }
        }
        return checks.contains { $0.status == .fail } ? .checkFailed : .success
    }
}

/// The files a host's engines and svirt-hook read, under `root`.
struct Host {
    let root: String

    /// Where podman looks for hooks when no containers.conf sets hooks_dir.
    static let podmanDefaultHooksDirs = ["/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"]
    /// CRI-O's default hooks_dir; crio.conf may set another.
    static let crioDefaultHooksDirs = ["/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"]

    func path(_ p: String) -> String { root + p }

    func read(_ p: String) -> String? {
        guard let bytes = try? Files.read(path(p), limit: 1 << 20) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    func exists(_ p: String) -> Bool {
        (try? Files.status(path(p))) != nil
    }

    func isExecutableFile(_ p: String) -> Bool {
        Files.isExecutableFile(path(p))
    }

    /// `DIR/*.conf` in name order, as the engines read drop-ins.
    func dropIns(_ dir: String) -> [String] {
        ((try? Files.entries(path(dir))) ?? []).filter { $0.hasSuffix(".conf") }.sorted().map { dir + "/" + $0 }
    }

    func facts(stateDirectory: String?, contextsFile: String?) -> DoctorFacts {
        let enabled = HostPolicy.isEnabled()
        let selinux: SELinuxState = !enabled ? .off : (HostPolicy.isEnforcing() ? .enforcing : .permissive)
        // Each engine's configuration is read once: the hook files found
        // follow from the directories they name.
        let podman = podman()
        let crio = crioDirs()
        let registrations = hookFiles(podman: podman, crio: crio)
        let ours = registrations.filter(\.isSVirtHook)
        let directory = stateDirectory ?? ours.compactMap { $0.option("--state-dir") }.first ?? HookOptions.defaultStateDirectory
        var facts = DoctorFacts(selinux: selinux, store: store(directory), relabelLocks: relabelLocks())
        gatherPolicy(into: &facts, contextsFile: contextsFile ?? ours.compactMap { $0.option("--contexts") }.first, enabled: enabled)
        facts.podman = podman
        facts.crioPrecreateFiles = crio.flatMap { dir in
            registrations.filter { $0.file.hasPrefix(dir + "/") && $0.stages.contains("precreate") }.map(\.file)
        }
        facts.registrations = registrations
        facts.executables = Set(ours.map(\.path).filter(isExecutableFile))
        (facts.gcTimer, facts.gcStateDirectory) = gcTimer()
        if facts.store.exists {
            do {
                let store = try ReservationStore(directory: path(directory), create: false)
                facts.heldLevels = try store.list().filter { $0.state == .held }.count
            } catch {
                facts.listError = error.description
            }
        }
        return facts
    }

    private func gatherPolicy(into facts: inout DoctorFacts, contextsFile: String?, enabled: Bool) {
        let contextsPath = contextsFile.map(path) ?? HostPolicy.lxcContextsPath().map(path)
        facts.contextsPath = contextsPath
        if let contextsPath {
            do {
                let contexts = try HostPolicy.loadContexts(path: contextsPath)
                facts.contexts = contexts
                if enabled {
                    facts.knownTypes = Set(contexts.containerTypes.filter { HostPolicy.knowsType($0, user: contexts.file.user) })
                }
            } catch {
                facts.contextsError = error.description
            }
        }
        if enabled { facts.ownContext = try? HostPolicy.currentContext() }
    }

    private func store(_ directory: String) -> StoreFacts {
        let full = path(directory)
        guard let st = try? Files.status(full, followingLinks: false) else {
            // Judge where it will be created: the nearest existing parent.
            var parent = directory
            while parent.count > 1, !exists(parent) {
                parent = String(parent[..<(parent.lastIndex(of: "/") ?? parent.startIndex)])
                if parent.isEmpty { parent = "/" }
            }
            let probe = StoreProbe.probe(path(parent))
            let remote = probe.isNetworkFileSystem
            return StoreFacts(directory: directory, exists: false, fileSystem: probe.fileSystem,
                              problem: remote ? "would be created \(probe.problem!)" : nil,
                              fix: "pass --state-dir on a local file system (e.g. /run/svirt-hook) to every registration and gc")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            return StoreFacts(directory: directory, exists: true, problem: "not a directory", fix: "move it away; the hook creates the store")
        }
        let probe = StoreProbe.probe(full)
        return StoreFacts(directory: directory, exists: true, fileSystem: probe.fileSystem, problem: probe.problem,
                          fix: "pass --state-dir on a local file system (e.g. /run/svirt-hook) to every registration and gc")
    }

    private func relabelLocks() -> DirectoryFacts {
        let dir = "/run/svirt-hook/relabel"
        guard let st = try? Files.status(path(dir), followingLinks: false) else { return DirectoryFacts(path: dir, exists: false) }
        if (st.st_mode & S_IFMT) != S_IFDIR { return DirectoryFacts(path: dir, exists: true, problem: "not a directory") }
        do { try Files.checkWritable(path(dir)) } catch {
            return DirectoryFacts(path: dir, exists: true, problem: "not writable: \(error.errno)")
        }
        return DirectoryFacts(path: dir, exists: true)
    }

    /// containers.conf as podman (containers/common) resolves it for root:
    /// CONTAINERS_CONF alone when set; otherwise /usr/share, then /etc,
    /// then /etc's drop-ins in name order, each overriding what it sets.
    private func podman() -> PodmanFacts? {
        guard ["/usr/bin/podman", "/usr/local/bin/podman"].contains(where: isExecutableFile) else { return nil }
        var files = ["/usr/share/containers/containers.conf", "/etc/containers/containers.conf"]
            + dropIns("/etc/containers/containers.conf.d")
        if let only = ProcessInfo.environment("CONTAINERS_CONF"), root.isEmpty { files = [only] }
        var dirs = Self.podmanDefaultHooksDirs
        var setBy: String?
        for file in files {
            if let text = read(file), let set = HooksDirSetting.read(text, table: "engine") {
                dirs = set
                setBy = file
            }
        }
        let precreate = dirs.filter(holdsPrecreate)
        // Rootless podman adds the user's files after the system's; a user
        // hooks_dir replaces the system one wholesale.
        var users: [PodmanFacts.User] = []
        for (name, home) in homes() {
            let userFiles = [home + "/.config/containers/containers.conf"] + dropIns(home + "/.config/containers/containers.conf.d")
            var userDirs: [String]?
            var file = ""
            for f in userFiles {
                if let text = read(f), let set = HooksDirSetting.read(text, table: "engine") { userDirs = set; file = f }
            }
            if let userDirs, !userDirs.contains(where: holdsPrecreate) {
                users.append(PodmanFacts.User(name: name, configFile: file))
            }
        }
        return PodmanFacts(hooksDirs: dirs, setBy: setBy, precreateDirs: precreate, usersWithout: users)
    }

    /// Whether `dir` holds an svirt-hook precreate registration.
    private func holdsPrecreate(_ dir: String) -> Bool {
        hookFiles(in: [dir]).contains { $0.isSVirtHook && $0.stages.contains("precreate") }
    }

    /// Users with a login home (uid >= 1000), from passwd.
    private func homes() -> [(String, String)] {
        PasswordFile.load(path("/etc/passwd")).filter { $0.uid >= 1000 && $0.uid < 65534 }.map { ($0.name, $0.home) }
    }

    private func crioDirs() -> [String] {
        var dirs = Self.crioDefaultHooksDirs
        for file in ["/etc/crio/crio.conf"] + dropIns("/etc/crio/crio.conf.d") {
            if let text = read(file), let set = HooksDirSetting.read(text, table: "crio.runtime") { dirs = set }
        }
        return dirs
    }

    /// Every hooks.d JSON file in the directories podman or CRI-O read, and
    /// in the podman-only directory make install uses.
    private func hookFiles(podman: PodmanFacts?, crio: [String]) -> [HookRegistration] {
        var dirs = Self.podmanDefaultHooksDirs + crio + ["/usr/share/svirt-hook/hooks.d", "/usr/local/share/svirt-hook/hooks.d"]
        if let podman { dirs += podman.hooksDirs }
        var seen: Set<String> = []
        return hookFiles(in: dirs.filter { seen.insert($0).inserted })
    }

    private func hookFiles(in dirs: [String]) -> [HookRegistration] {
        dirs.flatMap { dir -> [HookRegistration] in
            ((try? Files.entries(path(dir))) ?? []).filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
                let file = dir + "/" + name
                guard let bytes = try? Files.read(path(file), limit: 1 << 20) else { return nil }
                return HookRegistration(file: file, bytes: bytes)
            }
        }
    }

    private func gcTimer() -> (TimerState, String?) {
        let unitDirs = ["/usr/lib/systemd/system", "/lib/systemd/system", "/usr/local/lib/systemd/system", "/etc/systemd/system"]
        let service = unitDirs.lazy.compactMap { self.read($0 + "/svirt-hook-gc.service") }.first
        let stateDir = service.map { text -> String in
            let exec = text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }.map(String.init) ?? ""
            let gc = HookRegistration(file: "", path: "", arguments: exec.split(separator: " ").map(String.init), stages: [])
            return gc.option("--state-dir") ?? HookOptions.defaultStateDirectory
        }
        guard exists("/run/systemd/system") else { return (.noSystemd, stateDir) }
        // `systemctl enable` makes this link; its target is an absolute path
        // on the host, so look at the link itself (under --root the target
        // does not resolve).
        if Files.exists(path("/etc/systemd/system/timers.target.wants/svirt-hook-gc.timer")) { return (.enabled, stateDir) }
        let installed = unitDirs.contains { exists($0 + "/svirt-hook-gc.timer") }
        return (installed ? .disabled : .missing, stateDir)
    }
}
