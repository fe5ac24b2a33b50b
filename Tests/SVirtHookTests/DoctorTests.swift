import Testing
import SVirtSELinux
@testable import SVirtHook

/// A host doctor passes: enforcing, the policy knows every type, a local
/// store, podman reading our precreate file, two matching registrations,
/// the timer on. Each test below breaks one fact of it.
private func healthy() throws -> DoctorFacts {
    let contexts = try LXCContexts(parsing: """
        process = "system_u:system_r:container_t:s0"
        file = "system_u:object_r:container_file_t:s0"
        ro_file = "system_u:object_r:container_ro_file_t:s0"
        """)
    let precreate = HookRegistration(file: "/usr/share/svirt-hook/hooks.d/50-svirt-hook-precreate.json",
                                     path: "/usr/bin/svirt-hook", arguments: ["svirt-hook", "--stage", "precreate"], stages: ["precreate"])
    let poststop = HookRegistration(file: "/usr/share/containers/oci/hooks.d/50-svirt-hook-poststop.json",
                                    path: "/usr/bin/svirt-hook", arguments: ["svirt-hook", "--stage", "poststop"], stages: ["poststop"])
    return DoctorFacts(
        selinux: .enforcing, contextsPath: "/etc/selinux/default/contexts/lxc_contexts", contexts: contexts,
        knownTypes: ["container_t", "container_file_t", "container_ro_file_t"],
        ownContext: "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023",
        store: StoreFacts(directory: "/var/lib/svirt-hook", exists: true, fileSystem: "ext4"),
        relabelLocks: DirectoryFacts(path: "/run/svirt-hook/relabel", exists: true),
        podman: PodmanFacts(hooksDirs: ["/usr/share/svirt-hook/hooks.d", "/usr/share/containers/oci/hooks.d"],
                            setBy: "/etc/containers/containers.conf.d/50-svirt-hook.conf",
                            precreateDirs: ["/usr/share/svirt-hook/hooks.d"]),
        registrations: [precreate, poststop], executables: ["/usr/bin/svirt-hook"],
        gcStateDirectory: "/var/lib/svirt-hook", gcTimer: .enabled, heldLevels: 3)
}

private func check(_ name: String, _ facts: DoctorFacts) throws -> DoctorCheck {
    try #require(Doctor.checks(facts).first { $0.name == name })
}

@Suite("doctor: judging a host's facts")
struct DoctorTests {
    @Test("a healthy host passes every check, each with one line and no fix")
    func healthyHostPasses() throws {
        let checks = Doctor.checks(try healthy())
        #expect(checks.map(\.name) == ["selinux", "policy-types", "category-range", "state-dir", "relabel-locks",
                                       "podman-hooks", "crio-hooks", "registrations", "gc-timer", "levels"])
        for c in checks {
            #expect(c.status == .ok, "\(c.line)")
            #expect(c.fix == nil)
            #expect(!c.line.contains("\n"))
        }
        #expect(try check("levels", healthy()).detail == "3 held, 523773 free")
    }

    @Test("SELinux off or permissive is a warning with the way to turn it on")
    func selinuxModes() throws {
        var facts = try healthy()
        facts.selinux = .permissive
        #expect(try check("selinux", facts).status == .warn)
        #expect(try check("selinux", facts).fix?.contains("setenforce 1") == true)
        facts.selinux = .off
        let off = try check("selinux", facts)
        #expect(off.status == .warn)
        #expect(off.detail.contains("unlabeled"))
    }

    @Test("a type lxc_contexts names but the policy lacks fails, naming the type and install-policy")
    func missingPolicyType() throws {
        var facts = try healthy()
        facts.knownTypes = ["container_t"]
        let c = try check("policy-types", facts)
        #expect(c.status == .fail)
        #expect(c.detail.contains("container_file_t, container_ro_file_t"))
        #expect(c.fix?.contains("make install-policy") == true)
    }

    @Test("an unreadable lxc_contexts fails under SELinux and is not checked with SELinux off")
    func unreadableContexts() throws {
        var facts = try healthy()
        facts.contexts = nil
        facts.contextsError = "open lxc_contexts: No such file or directory"
        #expect(try check("policy-types", facts).status == .fail)
        facts.selinux = .off
        let off = try check("policy-types", facts)
        #expect(off.status == .ok)
        #expect(off.detail.hasPrefix("not checked"))
    }

    @Test("a caller confined to one category cannot draw levels: fail; the range's level count is shown otherwise")
    func categoryRange() throws {
        var facts = try healthy()
        #expect(try check("category-range", facts).detail.contains("c0.c1023"))
        facts.ownContext = "system_u:system_r:init_t:s0-s0:c5"
        #expect(try check("category-range", facts).status == .fail)
        facts.ownContext = "system_u:system_r:init_t:s0-s0:c0.c9"
        let narrow = try check("category-range", facts)
        #expect(narrow.status == .ok)
        #expect(narrow.detail.contains("45 levels"))
        facts.ownContext = nil
        #expect(try check("category-range", facts).status == .fail)
    }

    @Test("a state directory with a problem fails with the probe's reason and fix")
    func stateDirectoryProblem() throws {
        var facts = try healthy()
        facts.store = StoreFacts(directory: "/var/lib/svirt-hook", exists: true, fileSystem: "nfs",
                                 problem: "on a network file system (nfs): flock and RENAME_NOREPLACE are not reliable",
                                 fix: "pass --state-dir on a local file system")
        let c = try check("state-dir", facts)
        #expect(c.status == .fail)
        #expect(c.detail.contains("nfs"))
        #expect(c.fix == "pass --state-dir on a local file system")
    }

    @Test("a state directory not created yet is fine: the first container creates it")
    func stateDirectoryNotYet() throws {
        var facts = try healthy()
        facts.store = StoreFacts(directory: "/var/lib/svirt-hook", exists: false, fileSystem: "ext4")
        facts.heldLevels = nil
        #expect(try check("state-dir", facts).status == .ok)
        #expect(try check("levels", facts).detail == "none held (no store yet)")
    }

    @Test("a relabel lock path that is not a writable directory fails")
    func relabelLocks() throws {
        var facts = try healthy()
        facts.relabelLocks = DirectoryFacts(path: "/run/svirt-hook/relabel", exists: true, problem: "not a directory")
        #expect(try check("relabel-locks", facts).status == .fail)
    }

    @Test("a hooks_dir without our precreate file fails, naming the file that set it")
    func podmanHooksDirReplaced() throws {
        var facts = try healthy()
        facts.podman = PodmanFacts(hooksDirs: ["/etc/my-hooks"], setBy: "/etc/containers/containers.conf.d/99-site.conf", precreateDirs: [])
        let c = try check("podman-hooks", facts)
        #expect(c.status == .fail)
        #expect(c.detail.contains("/etc/my-hooks"))
        #expect(c.detail.contains("99-site.conf"))
        #expect(c.fix?.contains("99-site.conf") == true)
    }

    @Test("a user's containers.conf replacing hooks_dir is a warning naming the user and the file")
    func rootlessUserReplacesHooksDir() throws {
        var facts = try healthy()
        facts.podman?.usersWithout = [.init(name: "alice", configFile: "/home/alice/.config/containers/containers.conf")]
        let c = try check("podman-hooks", facts)
        #expect(c.status == .warn)
        #expect(c.detail.contains("alice"))
        #expect(c.fix?.contains("/home/alice/.config/containers/containers.conf") == true)
    }

    @Test("no podman installed is not a problem")
    func noPodman() throws {
        var facts = try healthy()
        facts.podman = nil
        #expect(try check("podman-hooks", facts).status == .ok)
    }

    @Test("a precreate file in a directory CRI-O reads fails")
    func precreateWhereCRIOReads() throws {
        var facts = try healthy()
        facts.crioPrecreateFiles = ["/usr/share/containers/oci/hooks.d/50-svirt-hook-precreate.json"]
        let c = try check("crio-hooks", facts)
        #expect(c.status == .fail)
        #expect(c.detail.contains("/usr/share/containers/oci/hooks.d/50-svirt-hook-precreate.json"))
    }

    @Test("no registration at all fails with make install as the fix")
    func noRegistrations() throws {
        var facts = try healthy()
        facts.registrations = [HookRegistration(file: "/usr/share/containers/oci/hooks.d/oci-other.json", path: "/usr/bin/other",
                                                arguments: [], stages: ["prestart"])]
        let c = try check("registrations", facts)
        #expect(c.status == .fail)
        #expect(c.fix?.contains("make install") == true)
    }

    @Test("a registration pointing at a missing executable fails, naming the file")
    func registrationWithoutExecutable() throws {
        var facts = try healthy()
        facts.executables = []
        let c = try check("registrations", facts)
        #expect(c.status == .fail)
        #expect(c.detail.contains("50-svirt-hook-precreate.json runs /usr/bin/svirt-hook"))
    }

    @Test("registrations disagreeing on --state-dir or --selinux fail, listing each file's value")
    func registrationsDisagree() throws {
        var facts = try healthy()
        facts.registrations[1].arguments += ["--state-dir", "/run/svirt-hook"]
        let state = try check("registrations", facts)
        #expect(state.status == .fail)
        #expect(state.detail.contains("--state-dir"))
        #expect(state.detail.contains("/run/svirt-hook"))
        #expect(state.detail.contains("(default)"))

        facts = try healthy()
        facts.registrations[0].arguments += ["--selinux=on"]
        let selinux = try check("registrations", facts)
        #expect(selinux.status == .fail)
        #expect(selinux.detail.contains("--selinux"))
    }

    @Test("a gc service on another --state-dir than the hooks fails: it would free nothing")
    func gcOnAnotherStore() throws {
        var facts = try healthy()
        facts.gcStateDirectory = "/run/svirt-hook"
        let c = try check("registrations", facts)
        #expect(c.status == .fail)
        #expect(c.fix == "make install GC_FLAGS='--state-dir /var/lib/svirt-hook'")
    }

    @Test("a disabled, missing or systemd-less gc timer warns with the way to run gc")
    func gcTimer() throws {
        var facts = try healthy()
        for state in [TimerState.disabled, .missing, .noSystemd] {
            facts.gcTimer = state
            let c = try check("gc-timer", facts)
            #expect(c.status == .warn)
            #expect(c.fix?.contains("gc") == true)
        }
        facts.gcTimer = .disabled
        #expect(try check("gc-timer", facts).fix == "systemctl enable --now svirt-hook-gc.timer")
    }

    @Test("levels: nearly all held warns, all held fails, an unlistable store fails")
    func levels() throws {
        var facts = try healthy()
        facts.ownContext = "system_u:system_r:init_t:s0-s0:c0.c9" // 45 levels
        facts.heldLevels = 41
        #expect(try check("levels", facts).status == .warn)
        facts.heldLevels = 45
        let full = try check("levels", facts)
        #expect(full.status == .fail)
        #expect(full.detail == "45 held, none free")
        facts.heldLevels = nil
        facts.listError = "Permission denied"
        #expect(try check("levels", facts).status == .fail)
    }

    @Test("the line is STATUS NAME: detail, with the fix in parentheses")
    func lineFormat() {
        let c = DoctorCheck(name: "gc-timer", status: .warn, detail: "off", fix: "enable it")
        #expect(c.line == "warn gc-timer: off (fix: enable it)")
        #expect(DoctorCheck(name: "selinux", status: .ok, detail: "on", fix: nil).line == "ok   selinux: on")
    }
}

@Suite("doctor: containers.conf hooks_dir")
struct HooksDirSettingTests {
    @Test("reads hooks_dir from its table, across lines, with comments and both quote kinds")
    func readsMultilineArray() {
        let text = """
            [containers]
            hooks_dir = ["/not/this"]
            [engine]
            # hooks_dir = ["/commented"]
            events_logger = "file"
            hooks_dir = [
              "/usr/share/svirt-hook/hooks.d", # ours
              '/usr/share/containers/oci/hooks.d',
            ]
            """
        #expect(HooksDirSetting.read(text, table: "engine") == ["/usr/share/svirt-hook/hooks.d", "/usr/share/containers/oci/hooks.d"])
    }

    @Test("a file that does not set hooks_dir overrides nothing; an empty array replaces")
    func unsetAndEmpty() {
        #expect(HooksDirSetting.read("[engine]\ncgroup_manager = \"cgroupfs\"\n", table: "engine") == nil)
        #expect(HooksDirSetting.read("[engine]\nhooks_dir = []\n", table: "engine") == [])
    }

    @Test("the last hooks_dir in a file wins, and a bracket inside a string does not end the array")
    func lastWinsAndQuotedBracket() {
        let text = "[engine]\nhooks_dir = [\"/a\"]\nhooks_dir = [\"/b]c\", \"/d\"]\n"
        #expect(HooksDirSetting.read(text, table: "engine") == ["/b]c", "/d"])
    }

    @Test("crio.conf's table is [crio.runtime], not a prefix match")
    func dottedTable() {
        let text = "[crio.runtime.runtimes.runc]\nhooks_dir = [\"/x\"]\n[crio.runtime]\nhooks_dir = [\"/etc/crio/hooks\"]\n"
        #expect(HooksDirSetting.read(text, table: "crio.runtime") == ["/etc/crio/hooks"])
    }

    @Test("hooks_dirs or a non-array value is not misread as hooks_dir")
    func similarKeys() {
        #expect(HooksDirSetting.read("[engine]\nhooks_dirs = [\"/x\"]\nhooks_dir = \"/y\"\n", table: "engine") == nil)
    }
}

@Suite("doctor: hooks.d files")
struct HookRegistrationTests {
    @Test("parses path, args and stages; non-hooks.d JSON is skipped")
    func parse() throws {
        let bytes = Array(#"{"version":"1.0.0","hook":{"path":"/usr/bin/svirt-hook","args":["svirt-hook","--stage","precreate","--state-dir=/run/s"]},"when":{"always":true},"stages":["precreate"]}"#.utf8)
        let r = try #require(HookRegistration(file: "f.json", bytes: bytes))
        #expect(r.isSVirtHook)
        #expect(r.stages == ["precreate"])
        #expect(r.option("--state-dir") == "/run/s")
        #expect(r.option("--selinux") == nil)
        #expect(HookRegistration(file: "g.json", bytes: Array(#"{"version":"1.0.0"}"#.utf8)) == nil)
        #expect(HookRegistration(file: "h.json", bytes: Array("not json".utf8)) == nil)
    }

    @Test("option takes the last of repeated flags and never reads args[0]")
    func optionLastWins() {
        let r = HookRegistration(file: "", path: "/opt/svirt-hook", arguments: ["--state-dir", "--state-dir", "/a", "--state-dir=/b"], stages: [])
        #expect(r.option("--state-dir") == "/b")
        #expect(HookRegistration(file: "", path: "/usr/bin/oci-systemd-hook", arguments: [], stages: []).isSVirtHook == false)
    }
}
