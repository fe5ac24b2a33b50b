import Foundation
import Testing
import SVirtJSON
import SVirtOCI
@testable import SVirtHook

/// The package root, from this file's path.
private let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

@Suite("Captured configs")
struct ExampleConfigTests {
    static func load(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/examples/" + name)))
    }

    /// Removes the two labels the hook adds, to compare the rest.
    static func withoutLabels(_ value: JSONValue) -> JSONValue {
        guard case .object(var root) = value else { return value }
        if case .object(var p) = root["process"] { p["selinuxLabel"] = nil; root["process"] = .object(p) }
        if case .object(var l) = root["linux"] { l["mountLabel"] = nil; root["linux"] = .object(l) }
        return .object(root)
    }

    @Test("runc spec and podman configs get both labels with one level, and nothing else changes",
          arguments: ["config.json", "podman-config.json"])
    func labels(name: String) throws {
        let input = try Self.load(name)
        let a = RecordingAllocator()
        var o = HookOptions()
        o.selinux = .on
        let result = try HookRun.run(input: input, options: o, environment: environment(allocator: a, cwd: "/bundle"))
        let out = try JSON.parse(try #require(result.output))
        let config = try OCIConfig(out)
        #expect(try config.processLabel() == "system_u:system_r:container_t:s0:c7,c42")
        #expect(try config.mountLabel() == "system_u:object_r:container_file_t:s0:c7,c42")
        #expect(Self.withoutLabels(out) == (try JSON.parse(input)))
        #expect(a.requests.count == 1)
    }

    @Test("podman's label options annotation sets type and level; no level is drawn")
    func podmanLabelOptions() throws {
        let a = RecordingAllocator()
        var o = HookOptions()
        o.selinux = .on
        let result = try HookRun.run(input: try Self.load("podman-label-opts-config.json"), options: o,
                                     environment: environment(allocator: a))
        let config = try OCIConfig(JSON.parse(try #require(result.output)))
        #expect(try config.processLabel() == "system_u:system_r:spc_t:s0:c5,c6")
        #expect(try config.mountLabel() == "system_u:object_r:container_file_t:s0:c5,c6")
        #expect(a.requests.isEmpty)
    }

    @Test("podman's relabel annotation relabels the volume source with the private label")
    func podmanRelabel() throws {
        let r = RecordingRelabeler()
        var o = HookOptions()
        o.selinux = .on
        _ = try HookRun.run(input: try Self.load("podman-relabel-config.json"), options: o,
                            environment: environment(relabeler: r))
        #expect(r.calls.map(\.source) == ["/tmp/hk/vol"])
        #expect(r.calls.map(\.label) == ["system_u:object_r:container_file_t:s0:c7,c42"])
    }
}
