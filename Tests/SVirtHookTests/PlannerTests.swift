import Testing
import SVirtJSON
import SVirtOCI
import SVirtSELinux
@testable import SVirtHook

private func plan(_ text: String, settings: HookSettings = HookSettings(baseDirectory: "/bundle"),
                  allocator: RecordingAllocator = RecordingAllocator(), policy: Policy = testPolicy,
                  mode: Planner.Mode = .label) throws(HookError) -> Plan {
    try Apply.complete(Planner.plan(config: config(text), settings: settings, policy: policy, mode: mode),
                       allocator: { allocator })
}

/// The exit code a failing body throws; nil when it succeeds or throws
/// something that is not a HookError.
func code(_ body: () throws -> Void) -> ExitCode? {
    do { try body(); return nil } catch { return (error as? HookError)?.code }
}

@Suite("Planner: labels")
struct LabelTests {
    @Test("missing labels get the policy's types and one allocated level, keyed by the absolute root path")
    func generates() throws {
        let a = RecordingAllocator(next: MCSLevel("s0:c3,c900")!)
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"rootfs"},"linux":{}}"#, allocator: a)
        #expect(p.processLabel == "system_u:system_r:container_t:s0:c3,c900")
        #expect(p.mountLabel == "system_u:object_r:container_file_t:s0:c3,c900")
        #expect(try p.config.processLabel() == p.processLabel)
        #expect(try p.config.mountLabel() == p.mountLabel)
        #expect(a.requests.map(\.key) == [ContainerKey(key: "root:/bundle/rootfs", rootPath: "/bundle/rootfs")])
        #expect(a.requests.map(\.range) == [.full])
        #expect(p.reservedLevel == MCSLevel("s0:c3,c900"))
        #expect(p.configChanged)
    }

    @Test("the policy's category range is what the allocator is asked for")
    func range() throws {
        let a = RecordingAllocator()
        let policy = Policy(contexts: testContexts, categoryRange: CategoryRange(lower: 10, upper: 20))
        _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, allocator: a, policy: policy)
        #expect(a.requests.map(\.range) == [CategoryRange(lower: 10, upper: 20)])
    }

    @Test("labels set by the user are kept as they are, and their level is claimed")
    func keepsUserLabels() throws {
        let a = RecordingAllocator()
        let p = try plan(#"{"ociVersion":"1","process":{"selinuxLabel":"u:r:my_t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:my_file_t:s0:c1,c2"}}"#, allocator: a)
        #expect(p.processLabel == "u:r:my_t:s0:c1,c2")
        #expect(p.mountLabel == "u:object_r:my_file_t:s0:c1,c2")
        #expect(!p.configChanged)
        #expect(a.requests.isEmpty)
        #expect(a.claims.map(\.level) == [MCSLevel("s0:c1,c2")!])
    }

    @Test("two user labels with different levels: both levels are claimed")
    func claimsBoth() throws {
        let a = RecordingAllocator()
        _ = try plan(#"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:f:s0:c3,c4"}}"#, allocator: a)
        #expect(a.claims.map(\.level) == [MCSLevel("s0:c1,c2")!, MCSLevel("s0:c3,c4")!])
    }

    @Test("with only the process label set, the mount label takes its level")
    func onlyProcess() throws {
        let a = RecordingAllocator()
        let p = try plan(#"{"ociVersion":"1","process":{"selinuxLabel":"u:r:my_t:s0:c5,c9"},"root":{"path":"/r"}}"#, allocator: a)
        #expect(p.processLabel == "u:r:my_t:s0:c5,c9")
        #expect(p.mountLabel == "system_u:object_r:container_file_t:s0:c5,c9")
        #expect(a.requests.isEmpty)
    }

    @Test("with only the mount label set, the process label takes its level")
    func onlyMount() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:f_t:s0:c8,c11"}}"#)
        #expect(p.processLabel == "system_u:system_r:container_t:s0:c8,c11")
        #expect(p.mountLabel == "u:object_r:f_t:s0:c8,c11")
    }

    @Test("a malformed user label is a bad-label error", arguments: [
        #"{"ociVersion":"1","process":{"selinuxLabel":"container_t"},"root":{"path":"/r"}}"#,
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"linux":{"mountLabel":"u:r:t:s0:c2000"}}"#,
    ])
    func malformedUser(text: String) {
        #expect(code { _ = try plan(text) } == .badLabel)
    }

    @Test("labels the loaded policy rejects are bad-label errors")
    func policyRejects() {
        let policy = Policy(contexts: testContexts, validate: { !$0.contains("container_t") })
        #expect(code { _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, policy: policy) } == .badLabel)
    }

    /// Debian's policy: lxc_contexts names container_t, the policy lacks it.
    private static let withoutContainerTypes = Policy(
        contexts: testContexts,
        validate: { !$0.contains(":container_t:") && !$0.contains(":container_file_t:") },
        knowsType: { _, type in type != "container_t" && type != "container_file_t" },
        contextsPath: "/etc/selinux/default/contexts/lxc_contexts")

    @Test("a type lxc_contexts names but the policy lacks is a policy error naming the type, the file and the fix")
    func missingContainerType() {
        let policy = Self.withoutContainerTypes
        do {
            _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, policy: policy)
            Issue.record("planned a label the policy cannot load")
        } catch {
            #expect(error.code == .policy)
            #expect(error.message.contains("has no type container_t (named as process in /etc/selinux/default/contexts/lxc_contexts)"))
            #expect(error.message.contains("make install-policy"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("a missing type asked for by a label option, or in the config's own label, is named as such")
    func missingTypeFromOptionOrConfig() {
        let policy = Self.withoutContainerTypes
        do {
            _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"filetype:container_file_t"}}"#, policy: policy)
            Issue.record("planned a label the policy cannot load")
        } catch {
            #expect(error.code == .policy)
            // The process type is refused first.
            #expect(error.message.contains("no type container_t (named as process"))
        }
        do {
            _ = try plan(#"{"ociVersion":"1","process":{"selinuxLabel":"system_u:system_r:container_t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"system_u:object_r:spc_file_t:s0:c1,c2"}}"#, policy: policy)
            Issue.record("kept a label the policy cannot load")
        } catch {
            #expect(error.code == .policy)
            #expect(error.message.contains("no type container_t (in process.selinuxLabel)"))
        }
    }

    @Test("a refused label whose type exists stays a bad-label error")
    func refusedButTypeKnown() {
        let policy = Policy(contexts: testContexts, validate: { !$0.contains("s0:c1,c2") }, knowsType: { _, _ in true })
        #expect(code { _ = try plan(#"{"ociVersion":"1","process":{"selinuxLabel":"system_u:system_r:container_t:s0:c1,c2"},"root":{"path":"/r"}}"#, policy: policy) } == .badLabel)
    }

    @Test("label options change type, user, role, file type and level; a level option is claimed, not drawn")
    func options() throws {
        let a = RecordingAllocator()
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"user:u2,role:r2,type:spc_t,filetype:ft_t,level:s0:c5,c6"}}"#, allocator: a)
        #expect(p.processLabel == "u2:r2:spc_t:s0:c5,c6")
        #expect(p.mountLabel == "u2:object_r:ft_t:s0:c5,c6")
        #expect(a.requests.isEmpty)
        #expect(a.claims.map(\.level) == [MCSLevel("s0:c5,c6")!])
    }

    @Test("podman's joined annotation form is honored")
    func podmanForm() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.podman.annotations.label":"type:spc_t,label=level:s0:c5,c6"}}"#)
        #expect(p.processLabel == "system_u:system_r:spc_t:s0:c5,c6")
    }

    @Test("io.svirt.label overrides the same option from podman's annotation")
    func svirtWins() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.podman.annotations.label":"type:a_t","io.svirt.label":"type:b_t"}}"#)
        #expect(p.processLabel?.contains(":b_t:") == true)
    }

    @Test("an unknown label option is a bad-label error naming it")
    func unknownOption() {
        do {
            _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"type:a_t,frobnicate"}}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .badLabel)
            #expect(error.message.contains("frobnicate"))
        }
    }

    @Test("disable leaves the labels unset and relabels nothing")
    func disable() throws {
        let a = RecordingAllocator()
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.podman.annotations.label":"disable","io.svirt.relabel":"/:Z"}}"#, allocator: a)
        #expect(p.disabled)
        #expect(!p.configChanged)
        #expect(p.relabels.isEmpty)
        #expect(a.requests.isEmpty)
    }

    @Test("a pod sandbox id keys the reservation before the root path")
    func sandboxKey() throws {
        let a = RecordingAllocator()
        _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.kubernetes.cri-o.SandboxID":"pod1"}}"#, allocator: a)
        _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r2"},"annotations":{"io.kubernetes.cri.sandbox-id":"pod2"}}"#, allocator: a)
        #expect(a.requests.map(\.key?.key) == ["sandbox:pod1", "sandbox:pod2"])
        #expect(a.requests.map(\.key?.rootPath) == ["/r", "/r2"])
    }

    @Test("an empty sandbox id annotation counts as none: the root path keys the reservation")
    func emptySandboxKey() throws {
        let a = RecordingAllocator()
        _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.kubernetes.cri.sandbox-id":""}}"#, allocator: a)
        #expect(a.requests.map(\.key?.key) == ["root:/r"])
    }

    @Test("a relative root path without a base directory gives the allocator no identity")
    func noIdentity() throws {
        let a = RecordingAllocator()
        _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"rootfs"}}"#, settings: HookSettings(), allocator: a)
        #expect(a.requests.count == 1)
        #expect(a.requests.first?.key == nil)
    }

    @Test("allocator failures become reservation errors")
    func allocatorFails() {
        let a = RecordingAllocator()
        a.failure = Failure(description: "exhausted")
        #expect(code { _ = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, allocator: a) } == .reservation)
    }

    @Test("inspect mode adds nothing to an unlabeled config")
    func inspect() throws {
        let a = RecordingAllocator()
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, allocator: a, mode: .inspect)
        #expect(p.processLabel == nil)
        #expect(!p.configChanged)
        #expect(a.requests.isEmpty)
    }
}

@Suite("Planner: relabel requests")
struct RelabelRequestTests {
    static let mounts = #""mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","Z","ro"]},{"destination":"/shared","source":"/srv/shared","options":["bind","z"]},{"destination":"/other","type":"bind","source":"rel/dir","options":["rbind"]}]"#

    @Test("z/Z options are stripped from the config and become targets: Z private, z the file label at s0")
    func options() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},\#(Self.mounts)}"#)
        let m = try p.config.mounts()
        #expect(m[1].options == ["rbind", "ro"])
        #expect(m[2].options == ["bind"])
        #expect(p.relabels == [
            RelabelTarget(destination: "/data", source: "/srv/data", label: "system_u:object_r:container_file_t:s0:c7,c42", mode: .private),
            RelabelTarget(destination: "/shared", source: "/srv/shared", label: "system_u:object_r:container_file_t:s0", mode: .shared),
        ])
    }

    @Test("io.svirt.relabel names mounts by destination and / is the root; relative sources resolve against the bundle")
    func annotation() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"rootfs"},"annotations":{"io.svirt.relabel":"/other/:Z,/:z"},\#(Self.mounts)}"#)
        #expect(p.relabels.map(\.source) == ["/srv/data", "/srv/shared", "/bundle/rel/dir", "/bundle/rootfs"])
        #expect(p.relabels.last?.label == "system_u:object_r:container_file_t:s0")
    }

    @Test("--relabel-root makes the root a target by default")
    func relabelRootFlag() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, settings: HookSettings(relabelRoot: .private))
        #expect(p.relabels == [RelabelTarget(destination: "/", source: "/r", label: "system_u:object_r:container_file_t:s0:c7,c42", mode: .private)])
    }

    @Test("relabel requests that cannot be honored are bad input", arguments: [
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"mounts":[{"destination":"/d","type":"bind","source":"/s","options":["z","Z"]}]}"#,
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"mounts":[{"destination":"/t","type":"tmpfs","source":"tmpfs","options":["Z"]}]}"#,
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.relabel":"/nowhere:Z"}}"#,
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.relabel":"/d:X"}}"#,
        #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.relabel":"/d:z"},"mounts":[{"destination":"/d","type":"bind","source":"/s","options":["Z"]}]}"#,
    ])
    func refused(text: String) {
        #expect(code { _ = try plan(text) } == .badInput)
    }

    @Test("applying stops at the first failing target with the relabel exit code")
    func applyFails() throws {
        let p = try plan(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},\#(Self.mounts)}"#)
        let r = RecordingRelabeler()
        #expect(try Apply.relabel(p, relabeler: r).isEmpty)
        #expect(r.calls.map(\.source) == ["/srv/data", "/srv/shared"])
        r.failure = Failure(description: "EPERM")
        #expect(code { _ = try Apply.relabel(p, relabeler: r) } == .relabel)
    }
}

@Suite("Container identity and liveness")
struct LivenessTests {
    @Test("an overlay root (…/merged) is kept alive by its layer directory, which outlives the unmount at stop")
    func overlayMerged() {
        let key = ContainerKey.derive(sandboxID: nil, rootPath: "/var/lib/containers/storage/overlay/abc/merged")
        #expect(key?.key == "root:/var/lib/containers/storage/overlay/abc/merged")
        #expect(key?.rootPath == "/var/lib/containers/storage/overlay/abc")
    }

    @Test("other roots (vfs, runc bundles) are their own liveness path", arguments: [
        "/var/lib/containers/storage/vfs/dir/abc", "/srv/bundle/rootfs", "/merged", "/x/merged-not",
    ])
    func plainRoots(_ root: String) {
        #expect(ContainerKey.derive(sandboxID: nil, rootPath: root)?.rootPath == root)
    }
}

@Suite("Planner: pure, it names the level it needs instead of reserving")
struct PlannerNeedTests {
    func draft(_ text: String, mode: Planner.Mode = .label) throws(HookError) -> Draft {
        try Planner.plan(config: config(text), settings: HookSettings(baseDirectory: "/bundle"), policy: testPolicy,
                         mode: mode)
    }

    @Test("missing labels: a level to reserve for the container's key, from the policy's range")
    func reserve() throws {
        let d = try draft(#"{"ociVersion":"1","process":{},"root":{"path":"rootfs"}}"#)
        #expect(d.need == .reserve(key: ContainerKey(key: "root:/bundle/rootfs", rootPath: "/bundle/rootfs"),
                                   range: testPolicy.categoryRange))
    }

    @Test("user labels and level: options: levels to record; categoryless levels, label=disable and inspected unlabeled configs: none")
    func claimAndNone() throws {
        let key = ContainerKey(key: "root:/r", rootPath: "/r")
        #expect(try draft(#"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"/r"}}"#).need
            == .claim([MCSLevel("s0:c1,c2")!], key: key))
        #expect(try draft(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"level:s0:c5,c6"}}"#).need
            == .claim([MCSLevel("s0:c5,c6")!], key: key))
        #expect(try draft(#"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0"},"root":{"path":"/r"}}"#).need == .none)
        #expect(try draft(#"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"disable"}}"#).need == .none)
        #expect(try draft(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#, mode: .inspect).need == .none)
    }

    @Test("a draft completed with a level labels the config with it, and nothing else is asked of any store")
    func completeWithLevel() throws {
        let d = try draft(#"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#)
        let p = try d.plan(level: MCSLevel("s0:c8,c9")!)
        #expect(p.processLabel == "system_u:system_r:container_t:s0:c8,c9")
        #expect(p.reservedLevel == MCSLevel("s0:c8,c9"))
        #expect(code { _ = try d.plan(level: nil) } == .reservation)
    }
}

/// A config as `docker run` writes it, with `extra` spliced into `linux`
/// and the bounding set given.
private func engineConfig(namespaces: [String] = ["pid", "ipc", "mount", "network", "uts"],
                          bounding: [String] = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                          masked: Bool = true, extra: String = "") -> String {
    let ns = namespaces.map { #"{"type":"\#($0)"}"# }.joined(separator: ",")
    let caps = bounding.map { #""\#($0)""# }.joined(separator: ",")
    let paths = masked ? #","maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]"# : ""
    return #"{"ociVersion":"1.0.2","process":{"args":["sh"],"capabilities":{"bounding":[\#(caps)]}},"root":{"path":"rootfs"},"linux":{"namespaces":[\#(ns)]\#(paths)\#(extra)}}"#
}

private let privilegedCaps = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE"]

@Suite("Planner: privileged and host-namespace containers")
struct HostAccessTests {
    @Test("privileged, host PID and host IPC containers are left unlabeled with a notice naming why, and take no level",
          arguments: [
              (engineConfig(bounding: privilegedCaps, masked: false), "privileged"),
              (engineConfig(namespaces: ["ipc", "mount"]), "the host's PID namespace"),
              (engineConfig(namespaces: ["pid", "mount"]), "the host's IPC namespace"),
          ])
    func leftUnlabeled(_ text: String, _ why: String) throws {
        let a = RecordingAllocator()
        let p = try plan(text, allocator: a)
        #expect(p.disabled && p.processLabel == nil && p.mountLabel == nil)
        #expect(!p.configChanged)
        #expect(a.requests.isEmpty)
        #expect(p.notices.count == 1 && p.notices[0].contains(why) && p.notices[0].contains("--privileged-type"))
    }

    @Test("an ordinary container with CAP_SYS_ADMIN keeps its masked paths and is labeled; so is one with no namespace list")
    func notPrivileged() throws {
        #expect(try plan(engineConfig(bounding: privilegedCaps)).processLabel != nil)
        #expect(try plan(engineConfig(bounding: ["CAP_SYS_ADMIN"], masked: false)).processLabel != nil)
        #expect(try plan(#"{"ociVersion":"1","process":{},"root":{"path":"rootfs"},"linux":{}}"#).processLabel != nil)
    }

    @Test("--privileged-type labels such containers with that type and a fresh level")
    func privilegedType() throws {
        let a = RecordingAllocator(next: MCSLevel("s0:c1,c2")!)
        let p = try plan(engineConfig(namespaces: ["mount"]),
                         settings: HookSettings(baseDirectory: "/bundle", privilegedType: "spc_t"), allocator: a)
        #expect(p.processLabel == "system_u:system_r:spc_t:s0:c1,c2")
        #expect(p.notices.isEmpty)
        #expect(a.requests.count == 1)
    }

    @Test("a label someone chose is never overridden: the config's own, or label options",
          arguments: [
              engineConfig(bounding: privilegedCaps, masked: false)
                  .replacingOccurrences(of: #""args":["sh"]"#, with: #""args":["sh"],"selinuxLabel":"system_u:system_r:container_t:s0:c5,c6""#),
              engineConfig(namespaces: ["mount"], extra: "")
                  .replacingOccurrences(of: #""root":{"#, with: #""annotations":{"io.svirt.label":"type:spc_t"},"root":{"#),
          ])
    func userChoiceKept(_ text: String) throws {
        let p = try plan(text, settings: HookSettings(baseDirectory: "/bundle", privilegedType: "other_t"))
        #expect(!p.disabled && p.processLabel != nil)
        #expect(p.processLabel?.contains("other_t") == false)
    }

    @Test("at a runtime stage with --require-label an unlabeled privileged container passes, with the notice")
    func runtimeStage() throws {
        let state = #"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1,"bundle":"/b"}"#
        let env = environment(files: ["/b/config.json": engineConfig(bounding: privilegedCaps, masked: false)])
        var options = HookOptions()
        options.selinux = .on
        options.requireLabel = true
        let result = try HookRun.run(input: Array(state.utf8), options: options, environment: env)
        #expect(result.notices.count == 1 && result.notices[0].contains("privileged"))
    }
}
