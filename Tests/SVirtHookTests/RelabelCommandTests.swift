import Testing
import SVirtSELinux
@testable import SVirtHook

private func parse(_ words: [String]) throws -> RelabelCommandOptions? {
    try RelabelCommandOptions.parse(words)
}

@Suite("svirt-hook relabel: arguments")
struct RelabelCommandParsingTests {
    @Test("each of --shared, --level and --label, with directories in order")
    func targets() throws {
        #expect(try parse(["--shared", "/a", "/b"]) == RelabelCommandOptions(target: .shared, directories: ["/a", "/b"]))
        #expect(try parse(["/v", "--level", "s0:c1,c2", "--contexts=/c"])
            == RelabelCommandOptions(target: .level(MCSLevel("s0:c1,c2")!), directories: ["/v"], contextsFile: "/c"))
        let context = SecurityContext("system_u:object_r:container_file_t:s0:c3,c4")!
        #expect(try parse(["--label", context.description, "--full-relabel", "--", "-odd"])
            == RelabelCommandOptions(target: .label(context), directories: ["-odd"], fullRelabel: true))
        #expect(try parse(["--help"]) == nil)
        #expect(try parse(["--shared", "--help"]) == nil)
    }

    @Test("the three label choices exclude each other, and one is required: usage errors",
          arguments: [["--shared", "--level", "s0:c1,c2", "/v"], ["--level", "s0:c1,c2", "--label", "u:r:t:s0", "/v"],
                      ["--shared", "--label", "u:r:t:s0", "/v"], ["/v"], ["--contexts", "/c", "/v"]])
    func exclusive(_ words: [String]) {
        #expect(code { _ = try parse(words) } == .usage)
    }

    @Test("the message names what excludes what")
    func exclusiveMessage() {
        #expect(throws: HookError(.usage, "--shared and --level exclude each other")) {
            _ = try parse(["--shared", "--level", "s0:c1,c2", "/v"])
        }
    }

    @Test("no DIR, an empty DIR, an unknown flag, a flag without its value: usage errors",
          arguments: [["--shared"], ["--level", "s0:c1,c2"], ["--shared", ""], ["--shared", "--frob", "/v"],
                      ["/v", "--level"], ["--shared", "--contexts=", "/v"], ["--label", "u:r:t:s0", "--contexts", "/c", "/v"]])
    func usage(_ words: [String]) {
        #expect(code { _ = try parse(words) } == .usage)
    }

    @Test("a level or label that does not parse is a bad label (exit 4), as reserve --level's",
          arguments: [["--level", "s0:c2,c1,x", "/v"], ["--level", "c1,c2", "/v"], ["--level", "s0:c01", "/v"],
                      ["--level", "s0:c1024", "/v"], ["--label", "container_file_t", "/v"], ["--label", "u:r:t:s0:c1,", "/v"]])
    func badLabel(_ words: [String]) {
        #expect(code { _ = try parse(words) } == .badLabel)
    }
}

@Suite("svirt-hook relabel: labels as the hook gives them")
struct RelabelCommandLabelTests {
    static let config = #"{"ociVersion":"1","process":{"args":["sh"],"cwd":"/"},"root":{"path":"/r"},"annotations":{"io.svirt.label":"level:s0:c1,c2","io.svirt.relabel":"/a:Z,/b:z"},"mounts":[{"destination":"/a","type":"bind","source":"/va"},{"destination":"/b","type":"bind","source":"/vb"}]}"#

    @Test("--level L is the hook's Z label at L, --shared its z label")
    func sameAsHook() throws {
        let recorded = RecordingRelabeler()
        _ = try HookRun.run(input: Array(Self.config.utf8), options: HookOptions(), environment: environment(relabeler: recorded))
        let hook = Dictionary(uniqueKeysWithValues: recorded.calls.map { ($0.source, $0.label) })
        let level = RelabelCommandOptions(target: .level(MCSLevel("s0:c1,c2")!), directories: ["/va"])
        let shared = RelabelCommandOptions(target: .shared, directories: ["/vb"])
        #expect(try level.label(policy: { testPolicy }, validate: nil) == hook["/va"])
        #expect(try shared.label(policy: { testPolicy }, validate: nil) == hook["/vb"])
        #expect(hook["/va"] == "system_u:object_r:container_file_t:s0:c1,c2")
        #expect(hook["/vb"] == "system_u:object_r:container_file_t:s0")
    }

    @Test("--label is taken as given, loads no policy, and the loaded policy may refuse it")
    func exactLabel() throws {
        let options = RelabelCommandOptions(target: .label(SecurityContext("u:object_r:t:s0:c5,c6")!), directories: ["/v"])
        let noPolicy = { () throws(HookError) -> Policy in throw HookError(.policy, "not to be loaded") }
        #expect(try options.label(policy: noPolicy, validate: nil) == "u:object_r:t:s0:c5,c6")
        #expect(code { _ = try options.label(policy: noPolicy, validate: { _ in false }) } == .badLabel)
    }

    @Test("a policy that refuses the built label: the hook's errors (policy for a missing type)")
    func refusedByPolicy() {
        var policy = testPolicy
        policy.validate = { _ in false }
        policy.knowsType = { _, _ in false }
        let options = RelabelCommandOptions(target: .shared, directories: ["/v"])
        #expect(code { _ = try options.label(policy: { policy }, validate: nil) } == .policy)
    }
}
