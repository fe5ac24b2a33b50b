import Foundation
import Testing
import SVirtAllocation
import SVirtSELinux
@testable import SVirtHook
import SVirtHost

@Suite("Allocators without a container identity")
struct AnonymousContainerTests {
    @Test("the reservation store refuses a container it cannot identify, as bad input")
    func storeRefuses() throws {
        let dir = NSTemporaryDirectory() + "svirt-anon-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let allocator = StoreAllocator(store: try ReservationStore(directory: dir), inUse: { [] })
        #expect(code { _ = try allocator.level(for: nil, range: .full) } == .badInput)
    }

    @Test("--no-reserve's random allocator needs no identity")
    func randomAccepts() throws {
        let level = try RandomLevelAllocator().level(for: nil, range: .full)
        #expect(level.categories.count == 2)
    }
}

@Suite("Runtime stages skip trees already labeled to the end")
struct CompletedRelabelTests {
    static let config = #"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:f:s0:c1,c2"},"annotations":{"io.svirt.relabel":"/d:Z,/e:Z"},"mounts":[{"destination":"/d","type":"bind","source":"/done"},{"destination":"/e","type":"bind","source":"/todo"}]}"#

    @Test("at createRuntime only the tree whose root lacks the label is walked")
    func runtimeStageSkipsComplete() throws {
        let r = RecordingRelabeler()
        r.complete = ["/done"]
        let env = environment(relabeler: r, files: ["/b/config.json": Self.config])
        let state = #"{"ociVersion":"1.0.2","id":"c1","status":"creating","bundle":"/b"}"#
        _ = try HookRun.run(input: Array(state.utf8), options: HookOptions(), environment: env)
        #expect(r.calls.map(\.source) == ["/todo"])
    }

    @Test("precreate walks every requested tree, labeled or not, to catch files changed since")
    func precreateWalksAll() throws {
        let r = RecordingRelabeler()
        r.complete = ["/done"]
        let env = environment(relabeler: r)
        _ = try HookRun.run(input: Array(Self.config.utf8), options: HookOptions(), environment: env)
        #expect(r.calls.map(\.source) == ["/done", "/todo"])
    }
}

@Suite("Opt-in: trust a tree whose root carries its label")
struct SkipLabeledTests {
    static func config(_ annotation: String) -> String {
        #"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:f:s0:c1,c2"},"annotations":{"io.svirt.relabel":"/d:Z,/e:Z"\#(annotation)},"mounts":[{"destination":"/d","type":"bind","source":"/done"},{"destination":"/e","type":"bind","source":"/todo"}]}"#
    }

    @Test("io.svirt.relabel-skip-labeled=true and CRI-O's TrySkipVolumeSELinuxLabel skip labeled trees at precreate",
          arguments: [#","io.svirt.relabel-skip-labeled":"true""#, #","io.kubernetes.cri-o.TrySkipVolumeSELinuxLabel":"true""#])
    func optIn(_ annotation: String) throws {
        let r = RecordingRelabeler()
        r.complete = ["/done"]
        _ = try HookRun.run(input: Array(Self.config(annotation).utf8), options: HookOptions(), environment: environment(relabeler: r))
        #expect(r.calls.map(\.source) == ["/todo"])
    }

    @Test("svirt's own annotation overrides CRI-O's, and a value other than true/false is bad input")
    func precedenceAndErrors() throws {
        let r = RecordingRelabeler()
        r.complete = ["/done"]
        let both = #","io.kubernetes.cri-o.TrySkipVolumeSELinuxLabel":"true","io.svirt.relabel-skip-labeled":"false""#
        _ = try HookRun.run(input: Array(Self.config(both).utf8), options: HookOptions(), environment: environment(relabeler: r))
        #expect(r.calls.map(\.source) == ["/done", "/todo"])
        let bad = #","io.svirt.relabel-skip-labeled":"yes""#
        #expect(code { _ = try HookRun.run(input: Array(Self.config(bad).utf8), options: HookOptions(), environment: environment()) } == .badInput)
    }
}

@Suite("Stages and requests that need nothing")
struct NothingToDoTests {
    @Test("poststart does not read the bundle: a missing bundle is no error there")
    func poststartReadsNothing() throws {
        let state = #"{"ociVersion":"1.0.2","id":"c1","status":"running","pid":1,"bundle":"/gone"}"#
        let result = try HookRun.run(input: Array(state.utf8), options: HookOptions(), environment: environment())
        #expect(result == HookResult())
    }

    @Test("label=disable ignores the relabel annotation, even a malformed one")
    func disableSkipsRelabelRequest() throws {
        let text = #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":{"io.svirt.label":"disable","io.svirt.relabel":"not-a-request"}}"#
        let r = RecordingRelabeler()
        let result = try HookRun.run(input: Array(text.utf8), options: HookOptions(), environment: environment(relabeler: r))
        #expect(result.output == Array(text.utf8))
        #expect(r.calls.isEmpty)
    }
}

@Suite("A claimed level others hold is said, not refused")
struct SharedLevelNoticeTests {
    @Test("the allocator's warning for a shared claimed level reaches the run's notices, and the run succeeds")
    func sharedClaimNotice() throws {
        let allocator = RecordingAllocator()
        allocator.sharedNotice = "level s0:c5,c6 of root:/r is also held by root:/other"
        let input = #"{"ociVersion":"1","process":{"selinuxLabel":"system_u:system_r:container_t:s0:c5,c6"},"root":{"path":"/r"}}"#
        let result = try HookRun.run(input: Array(input.utf8), options: HookOptions(), environment: environment(allocator: allocator))
        #expect(result.notices == ["level s0:c5,c6 of root:/r is also held by root:/other"])
        #expect(allocator.claims.count == 1)
    }
}

@Suite("A caller's own reservation store")
struct CallerStoreTests {
    @Test("root keeps the system store; anyone else a store in their home; no home, none")
    func perUserStore() {
        #expect(HookOptions.defaultStateDirectory(uid: 0, home: "/root") == "/var/lib/svirt-hook")
        #expect(HookOptions.defaultStateDirectory(uid: 1000, home: "/home/alice") == "/home/alice/.local/share/svirt-hook")
        #expect(HookOptions.defaultStateDirectory(uid: 1000, home: "/") == "/.local/share/svirt-hook")
        #expect(HookOptions.defaultStateDirectory(uid: 1000, home: nil) == nil)
        #expect(HookOptions.defaultStateDirectory(uid: 1000, home: "relative") == nil)
    }

    @Test("a config that carries its level starts although no store can be had, with a notice; one that needs a level does not")
    func noStoreClaimNoticeReserveFails() throws {
        let allocator = RecordingAllocator()
        allocator.failure = HookError(.reservation, "reservation store: access /var/lib/svirt-hook/keys: Permission denied")
        let labeled = #"{"ociVersion":"1","process":{"selinuxLabel":"system_u:system_r:container_t:s0:c5,c6"},"root":{"path":"/r"}}"#
        let result = try HookRun.run(input: Array(labeled.utf8), options: HookOptions(), environment: environment(allocator: allocator))
        #expect(result.notices == ["level s0:c5,c6 not recorded, so it is not kept from other containers: reservation store: access /var/lib/svirt-hook/keys: Permission denied"])
        #expect(result.output != nil)

        let unlabeled = #"{"ociVersion":"1","process":{},"root":{"path":"/r"}}"#
        #expect(code { _ = try HookRun.run(input: Array(unlabeled.utf8), options: HookOptions(), environment: environment(allocator: allocator)) } == .reservation)
    }
}
