import Testing
import SVirtJSON
@testable import SVirtOCI

private func parse(_ text: String) throws -> JSONValue { try JSON.parse(Array(text.utf8)) }

@Suite("OCIDocument detection")
struct DetectionTests {
    @Test("a config is detected by ociVersion plus process/root")
    func config() throws {
        let doc = try OCIDocument(parse(#"{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":{"path":"rootfs"}}"#))
        guard case .config = doc else { Issue.record("not a config: \(doc)"); return }
    }

    @Test("runc's poststop state without pid is a state with stage poststop")
    func runcPoststop() throws {
        let doc = try OCIDocument(parse(#"{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"}"#))
        guard case .state(let s) = doc else { Issue.record("not a state"); return }
        #expect(s.pid == nil)
        #expect(s.stage == .poststop)
        #expect(s.bundle == "/b")
    }

    @Test("crun's state with pid 0 and an extra root field is a state")
    func crunState() throws {
        let doc = try OCIDocument(parse(#"{"ociVersion":"1.0.0","id":"c1","pid":0,"root":"/x","status":"stopped","bundle":"/b"}"#))
        // crun's "root" is a string; a config's root is an object.
        guard case .state(let s) = doc else { Issue.record("not a state: \(doc)"); return }
        #expect(s.pid == 0)
    }

    @Test("status maps to stages", arguments: [
        ("creating", HookStage.createRuntime), ("created", .createRuntime), ("running", .poststart), ("stopped", .poststop),
    ])
    func stages(status: String, stage: HookStage) throws {
        let s = try OCIState(parse(#"{"id":"c","status":"\#(status)","bundle":"/b","pid":42}"#))
        #expect(s.stage == stage)
        #expect(s.pid == 42)
    }

    @Test("neither config nor state is an error")
    func neither() throws {
        #expect(throws: OCIError.self) { try OCIDocument(parse(#"{"hello":"world"}"#)) }
        #expect(throws: OCIError.self) { try OCIDocument(parse(#"[1,2]"#)) }
    }

    @Test("a state field of the wrong type is an error naming it")
    func stateWrongType() throws {
        #expect(throws: OCIError("state.bundle: expected string, found number")) {
            try OCIDocument(parse(#"{"id":"c","status":"stopped","bundle":7}"#))
        }
        #expect(throws: OCIError("state.pid: expected integer, found string")) {
            try OCIDocument(parse(#"{"id":"c","status":"stopped","bundle":"/b","pid":"1"}"#))
        }
    }
}

@Suite("OCIConfig view")
struct ConfigTests {
    @Test("reads labels, annotations, root path and mounts")
    func reads() throws {
        let c = try OCIConfig(parse(#"""
        {"ociVersion":"1.0.2","process":{"selinuxLabel":"u:r:t:s0"},"root":{"path":"/r","readonly":true},
         "linux":{"mountLabel":"","cgroupsPath":"machine.slice:libpod:abc"},
         "annotations":{"a":"1","b":"2"},
         "mounts":[{"destination":"/data","type":"bind","source":"/srv/d","options":["rbind","Z"]}]}
        """#))
        #expect(try c.processLabel() == "u:r:t:s0")
        #expect(try c.mountLabel() == nil)
        #expect(try c.rootPath() == "/r")
        #expect(try c.rootReadOnly())
        #expect(try c.cgroupsPath() == "machine.slice:libpod:abc")
        #expect(try c.annotation("b") == "2")
        let m = try c.mounts()
        #expect(m == [OCIMount(index: 0, destination: "/data", source: "/srv/d", type: "bind", options: ["rbind", "Z"])])
        #expect(m[0].isBind)
    }

    @Test("wrong types at touched fields are errors naming the field", arguments: [
        (#"{"ociVersion":"1","process":{"selinuxLabel":5}}"#, "process.selinuxLabel: expected string, found number"),
        (#"{"ociVersion":"1","process":[]}"#, "process: expected object, found array"),
        (#"{"ociVersion":"1","root":{"path":true}}"#, "root.path: expected string, found boolean"),
        (#"{"ociVersion":"1","root":{},"linux":{"mountLabel":{}}}"#, "linux.mountLabel: expected string, found object"),
        (#"{"ociVersion":"1","root":{},"annotations":{"x":1}}"#, "annotations.x: expected string, found number"),
        (#"{"ociVersion":"1","root":{},"mounts":{}}"#, "mounts: expected array, found object"),
        (#"{"ociVersion":"1","root":{},"mounts":[{"destination":"/a","options":"ro"}]}"#, "mounts[0].options: expected array, found string"),
        (#"{"ociVersion":"1","root":{},"mounts":[{"source":"/a"}]}"#, "mounts[0].destination: missing"),
    ])
    func wrongTypes(json: String, message: String) throws {
        let c = try OCIConfig(parse(json))
        #expect(throws: OCIError(message)) {
            _ = try c.processLabel(); _ = try c.rootPath(); _ = try c.mountLabel(); _ = try c.annotations(); _ = try c.mounts()
        }
    }

    @Test("setting labels and options changes only those members, in place")
    func writes() throws {
        var c = try OCIConfig(parse(#"{"ociVersion":"1","process":{"a":1,"b":2},"mounts":[{"destination":"/d","options":["z","ro"],"x":1}],"z":0}"#))
        try c.setProcessLabel("u:r:t:s0")
        try c.setMountLabel("u:object_r:f:s0")
        try c.setMountOptions(["ro"], at: 0)
        let out = String(decoding: JSON.serialize(c.json), as: UTF8.self)
        #expect(out == #"{"ociVersion":"1","process":{"a":1,"b":2,"selinuxLabel":"u:r:t:s0"},"mounts":[{"destination":"/d","options":["ro"],"x":1}],"z":0,"linux":{"mountLabel":"u:object_r:f:s0"}}"#)
    }

    @Test("a process label cannot be set without a process object")
    func noProcess() throws {
        var c = try OCIConfig(parse(#"{"ociVersion":"1","root":{"path":"r"}}"#))
        #expect(throws: OCIError.self) { try c.setProcessLabel("u:r:t:s0") }
    }
}

@Suite("OCIConfig refuses members Go would merge")
struct DuplicateMemberTests {
    @Test("a duplicated member the hook reads is bad input, naming it",
          arguments: [
            (#"{"ociVersion":"1","process":{"selinuxLabel":"a:b:c:s0"},"process":{"args":["sh"]}}"#, "process"),
            (#"{"ociVersion":"1","process":{},"annotations":{"io.svirt.label":"disable"},"annotations":{"x":"y"}}"#, "annotations"),
            (#"{"ociVersion":"1","process":{"selinuxLabel":"a:b:c:s0","selinuxLabel":"d:e:f:s0"}}"#, "process.selinuxLabel"),
            (#"{"ociVersion":"1","root":{"path":"/a","path":"/b"}}"#, "root.path"),
          ])
    func refused(_ text: String, _ member: String) throws {
        let value = try JSON.parse(Array(text.utf8))
        let error = #expect(throws: OCIError.self) { try OCIConfig(value) }
        #expect(error?.description.contains("\"\(member)\"") == true, "\(String(describing: error))")
    }

    @Test("duplicates elsewhere are kept as they are (the runtime resolves them)")
    func othersKept() throws {
        let text = #"{"ociVersion":"1","process":{"args":["a"],"args":["b"]},"hostname":"x","hostname":"y"}"#
        let config = try OCIConfig(try JSON.parse(Array(text.utf8)))
        #expect(String(decoding: JSON.serialize(config.json), as: UTF8.self) == text)
    }
}

@Suite("Keys match byte for byte")
struct ByteExactKeyTests {
    @Test("an annotation key spelled with a decomposed é does not match the precomposed one")
    func canonicalEquivalentKeysDiffer() throws {
        let composed = "io.caf\u{E9}", decomposed = "io.cafe\u{301}"
        #expect(composed == decomposed) // Swift's String == would confuse them
        let text = "{\"ociVersion\":\"1\",\"process\":{},\"annotations\":{\"\(decomposed)\":\"v\"}}"
        let config = try OCIConfig(try JSON.parse(Array(text.utf8)))
        #expect(try config.annotation(composed) == nil)
        #expect(try config.annotation(decomposed) == "v")
    }
}
