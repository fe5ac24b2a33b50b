import Testing
import SVirtJSON
import SVirtOCI
import SVirtSELinux
@testable import SVirtHook
import SVirtHost

private func options(_ configure: (inout HookOptions) -> Void = { _ in }) -> HookOptions {
    var o = HookOptions()
    configure(&o)
    return o
}

private let plainConfig = #"{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":{"path":"/var/lib/c/1/rootfs"},"linux":{}}"#

@Suite("HookRun")
struct HookRunTests {
    @Test("fields the hook does not touch survive exactly: big and negative integers, 1e400, 0.1, escapes, non-ASCII, key order")
    func fidelity() throws {
        let input = #"{"ociVersion":"1.0.2","zeta":18446744073709551615,"alpha":-9223372036854775808,"big":1e400,"tenth":0.1,"exp":-1.5E-7,"s":"tab\there \"q\" \\ \/ \u0000 \ud83d\ude00 é 日本","process":{"user":{"uid":0},"args":["sh"],"env":["A=1"]},"root":{"path":"/r"},"dup":1,"dup":2,"linux":{"uidMappings":[],"sysctl":{"net.x":"1"}},"annotations":{"k":"v"}}"#
        let result = try HookRun.run(input: Array(input.utf8), options: options { $0.selinux = .on }, environment: environment())
        let out = try #require(result.output)
        let outText = text(out)
        for literal in ["18446744073709551615", "-9223372036854775808", "1e400", "0.1", "-1.5E-7"] {
            #expect(outText.contains(literal), "number \(literal) changed")
        }
        // Semantically: the input plus exactly the two labels, in the same order.
        guard case .object(var got) = try JSON.parse(out), case .object(let want) = try JSON.parse(Array(input.utf8)) else {
            Issue.record("not objects"); return
        }
        #expect(got.keys == want.keys)
        guard case .object(var process) = got["process"], case .object(var linux) = got["linux"] else {
            Issue.record("process/linux missing"); return
        }
        #expect(process["selinuxLabel"] == .string("system_u:system_r:container_t:s0:c7,c42"))
        #expect(linux["mountLabel"] == .string("system_u:object_r:container_file_t:s0:c7,c42"))
        process["selinuxLabel"] = nil
        linux["mountLabel"] = nil
        got["process"] = .object(process)
        got["linux"] = .object(linux)
        #expect(got == want)
        #expect(got["s"] == .string("tab\there \"q\" \\ / \u{0} 😀 é 日本"))
    }

    @Test("SELinux off with auto: the output is the input's bytes, even pretty-printed")
    func passThrough() throws {
        let input = Array("{\n\t\"ociVersion\": \"1.0.2\",\n\t\"process\": {}, \"n\": 1.000\n}\n".utf8)
        let a = RecordingAllocator()
        let result = try HookRun.run(input: input, options: options(), environment: environment(enabled: false, allocator: a))
        #expect(result.output == input)
        #expect(a.requests.isEmpty)
    }

    @Test("a config that needs no change goes back byte for byte")
    func unchanged() throws {
        let input = Array(#"{"ociVersion":"1", "process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"u:object_r:f:s0:c1,c2"}}"#.utf8)
        let result = try HookRun.run(input: input, options: options(), environment: environment())
        #expect(result.output == input)
    }

    @Test("bad input classes get exit code 3 and no output", arguments: [
        "", "{", "[1]", #"{"hello":1}"#, "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"\u{FF}\"]}}",
        #"{"ociVersion":"1","process":{"selinuxLabel":7},"root":{"path":"/r"}}"#,
    ])
    func badInput(input: String) {
        var bytes = Array(input.utf8)
        if input.contains("\u{FF}") { bytes = bytes.map { $0 == 0xC3 ? 0xFF : $0 } } // invalid UTF-8
        #expect(code { _ = try HookRun.run(input: bytes, options: options(), environment: environment()) } == .badInput)
    }

    @Test("100,000 nested arrays are refused as bad input, not a crash")
    func deepNesting() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000) + [UInt8](repeating: UInt8(ascii: "]"), count: 100_000)
        #expect(code { _ = try HookRun.run(input: bytes, options: options(), environment: environment()) } == .badInput)
    }

    @Test("--bundle reads DIR/config.json and returns a rewrite of it, and nothing for stdout")
    func bundle() throws {
        let env = environment(files: ["/b/config.json": #"{"ociVersion":"1","process":{},"root":{"path":"rootfs"}}"#])
        let a = RecordingAllocator()
        var envA = env
        envA.allocator = { () throws(HookError) -> any LevelAllocator in a }
        let result = try HookRun.run(input: nil, options: options { $0.bundle = "/b"; $0.selinux = .on }, environment: envA)
        #expect(result.output == nil)
        #expect(result.rewrite?.path == "/b/config.json")
        #expect(a.requests.map(\.key?.key) == ["root:/b/rootfs"])
        let written = try OCIConfig(JSON.parse(try #require(result.rewrite?.bytes)))
        #expect(try written.processLabel() == "system_u:system_r:container_t:s0:c7,c42")
    }

    @Test("--bundle and the filter change only what they must: labels join their neighbours' layout, a Z leaves its line alone")
    func layoutKept() throws {
        let config = """
        {
            "ociVersion": "1.0.2",
            "process": {
                "args": [ "sh" ],
                "cwd": "/"
            },
            "root": { "path": "rootfs" },
            "mounts": [
                { "destination": "/data", "type": "bind", "source": "/srv/data", "options": [ "rbind", "Z", "ro" ] }
            ],
            "linux": {
                "namespaces": [ { "type": "pid" }, { "type": "ipc" }, { "type": "mount" } ]
            }
        }

        """
        let labeled = """
        {
            "ociVersion": "1.0.2",
            "process": {
                "args": [ "sh" ],
                "cwd": "/",
                "selinuxLabel": "system_u:system_r:container_t:s0:c7,c42"
            },
            "root": { "path": "rootfs" },
            "mounts": [
                { "destination": "/data", "type": "bind", "source": "/srv/data", "options": [ "rbind", "ro" ] }
            ],
            "linux": {
                "namespaces": [ { "type": "pid" }, { "type": "ipc" }, { "type": "mount" } ],
                "mountLabel": "system_u:object_r:container_file_t:s0:c7,c42"
            }
        }

        """
        let env = environment(files: ["/b/config.json": config])
        let bundle = try HookRun.run(input: nil, options: options { $0.bundle = "/b"; $0.selinux = .on }, environment: env)
        #expect(text(try #require(bundle.rewrite?.bytes)) == labeled)
        let filter = try HookRun.run(input: Array(config.utf8), options: options { $0.selinux = .on }, environment: env)
        #expect(text(try #require(filter.output)) == labeled)
    }

    @Test("a missing bundle config is an io error")
    func missingBundle() {
        #expect(code { _ = try HookRun.run(input: nil, options: options { $0.bundle = "/nope" }, environment: environment()) } == .io)
    }

    static let state = #"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":123,"bundle":"/b"}"#

    @Test("at a runtime stage an unlabeled bundle is reported, and with --require-label refused with exit 9")
    func unlabeledState() throws {
        let env = environment(files: ["/b/config.json": plainConfig])
        let result = try HookRun.run(input: Array(Self.state.utf8), options: options(), environment: env)
        #expect(result.output == nil)
        #expect(result.notices.count == 1)
        #expect(result.notices.first?.contains("c1") == true)
        #expect(code { _ = try HookRun.run(input: Array(Self.state.utf8), options: options { $0.requireLabel = true }, environment: env) } == .unlabeled)
    }

    @Test("at a runtime stage a labeled bundle passes, its level is claimed and requested mounts are relabeled")
    func labeledState() throws {
        let cfg = #"{"ociVersion":"1","process":{"selinuxLabel":"u:r:t:s0:c1,c2"},"root":{"path":"rootfs"},"linux":{"mountLabel":"u:object_r:f:s0:c1,c2"},"annotations":{"io.svirt.relabel":"/d:Z"},"mounts":[{"destination":"/d","type":"bind","source":"/src"}]}"#
        let a = RecordingAllocator(), r = RecordingRelabeler()
        let env = environment(allocator: a, relabeler: r, files: ["/b/config.json": cfg])
        let result = try HookRun.run(input: Array(Self.state.utf8), options: options { $0.requireLabel = true }, environment: env)
        #expect(result.notices.isEmpty)
        #expect(a.claims.map(\.key.key) == ["root:/b/rootfs"])
        #expect(r.calls.map(\.source) == ["/src"])
        #expect(r.calls.map(\.label) == ["u:object_r:f:s0:c1,c2"])
    }

    @Test("poststop (runc: no pid) reports the container's key to the release hook")
    func poststop() throws {
        let rel = RecordingRelease()
        let env = environment(release: rel, files: ["/b/config.json": plainConfig])
        let state = #"{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"}"#
        let result = try HookRun.run(input: Array(state.utf8), options: options(), environment: env)
        #expect(rel.stopped == [ContainerKey(key: "root:/var/lib/c/1/rootfs", rootPath: "/var/lib/c/1/rootfs")])
        #expect(result.notices == ["released root:/var/lib/c/1/rootfs"])
    }

    @Test("--stage overrides the state's status")
    func stageFlag() throws {
        let rel = RecordingRelease()
        let env = environment(release: rel, files: ["/b/config.json": plainConfig])
        _ = try HookRun.run(input: Array(Self.state.utf8), options: options { $0.stage = .poststop }, environment: env)
        #expect(rel.stopped.count == 1)
    }

    @Test("an unknown status without --stage, a relative bundle, and --stage precreate with a state are bad input")
    func stateErrors() {
        let env = environment(files: ["/b/config.json": plainConfig])
        #expect(code { _ = try HookRun.run(input: Array(#"{"id":"c","status":"paused","bundle":"/b"}"#.utf8), options: options(), environment: env) } == .badInput)
        #expect(code { _ = try HookRun.run(input: Array(#"{"id":"c","status":"stopped","bundle":"b"}"#.utf8), options: options(), environment: env) } == .badInput)
        #expect(code { _ = try HookRun.run(input: Array(Self.state.utf8), options: options { $0.stage = .precreate }, environment: env) } == .badInput)
    }

    @Test("relabel failures fail the run with exit 7 and produce no output")
    func relabelFailure() {
        let r = RecordingRelabeler()
        r.failure = Failure(description: "EPERM")
        let cfg = #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"mounts":[{"destination":"/d","type":"bind","source":"/src","options":["Z"]}]}"#
        #expect(code { _ = try HookRun.run(input: Array(cfg.utf8), options: options { $0.selinux = .on }, environment: environment(relabeler: r)) } == .relabel)
    }
}

@Suite("RandomLevelAllocator")
struct RandomLevelAllocatorTests {
    /// A source that yields the given 32-bit words in order.
    static func source(_ words: [UInt32]) -> RandomLevelAllocator.Source {
        let box = WordBox(words)
        return { box.take() }
    }

    final class WordBox: @unchecked Sendable {
        var words: [UInt32]
        init(_ words: [UInt32]) { self.words = words }
        func take() -> UInt32 {
            precondition(!words.isEmpty, "test source ran out of words")
            return words.removeFirst()
        }
    }

    let key = ContainerKey(key: "k", rootPath: nil)

    @Test("levels have two distinct categories in the range, lower first")
    func shape() throws {
        let a = RandomLevelAllocator()
        let range = CategoryRange(lower: 100, upper: 103)
        for _ in 0..<200 {
            let l = try a.level(for: key, range: range)
            #expect(l.categories.count == 2)
            #expect(l.categories[0] < l.categories[1])
            #expect(l.categories.allSatisfy(range.contains))
        }
    }

    @Test("c1022,c1023 is never handed out, and a range holding only that pair is exhausted")
    func reservedPair() throws {
        let a = RandomLevelAllocator()
        for _ in 0..<200 {
            #expect(try a.level(for: key, range: CategoryRange(lower: 1021, upper: 1023)) != MCSLevel("s0:c1022,c1023"))
        }
        #expect(throws: RandomLevelAllocator.Exhausted.self) { try a.level(for: key, range: CategoryRange(lower: 1022, upper: 1023)) }
        #expect(throws: RandomLevelAllocator.Exhausted.self) { try a.level(for: key, range: CategoryRange(lower: 5, upper: 5)) }
    }

    @Test("raw values in the biased top band are redrawn, not folded by modulo")
    func rejection() throws {
        // For bound 3, 2^32 mod 3 = 1: the one value past the last whole
        // cycle, UInt32.max, must be rejected.
        let words: [UInt32] = [UInt32.max, 4, 5]  // rejected; 4 % 3 = 1, 5 % 3 = 2
        let a = RandomLevelAllocator(source: Self.source(words))
        #expect(try a.level(for: key, range: CategoryRange(lower: 10, upper: 12)) == MCSLevel("s0:c11,c12"))
    }

    @Test("every category of a small range is drawn about equally often")
    func uniform() throws {
        let a = RandomLevelAllocator()
        let range = CategoryRange(lower: 0, upper: 9)
        var counts = [Int](repeating: 0, count: 10)
        let draws = 20_000
        for _ in 0..<draws {
            for c in try a.level(for: key, range: range).categories { counts[c] += 1 }
        }
        // Each category appears in 2/10 of the pairs: expect 4000 (sd ~ 57).
        for c in counts { #expect(abs(c - 4000) < 400, "counts \(counts)") }
    }
}

@Suite("TreeRelabeler adapter")
struct TreeRelabelerTests {
    @Test("a refused system path surfaces as the relabel exit code")
    func refusal() {
        #expect(code { _ = try TreeRelabeler().relabel(source: "/usr", label: "system_u:object_r:container_file_t:s0", within: nil) } == .relabel)
    }
}
