import Foundation
import Testing

@Suite("svirt-hook list: who holds each level")
struct ListHolderTests {
    @Test("the podman config's id and a containerd bundle's namespace/id appear as HOLDER, in text and JSON")
    func holdersFromRealConfigs() throws {
        let dir = try TemporaryDirectory(prefix: "holder")
        let state = dir.file("state")
        let podman = try hook(labelFlags + ["--stage", "precreate", "--state-dir", state],
                              stdin: try Data(contentsOf: URL(fileURLWithPath: Paths.podmanConfig)))
        #expect(podman.status == 0, "\(podman.stderr)")

        // containerd (ctr, nerdctl, Docker) runs the runtime in
        // .../io.containerd.runtime.v2.task/NAMESPACE/ID: the wrapper's --bundle.
        let bundle = dir.file("io.containerd.runtime.v2.task/default/redis1")
        try FileManager.default.createDirectory(atPath: bundle + "/rootfs", withIntermediateDirectories: true)
        try writeJSON(["ociVersion": "1.0.2", "process": ["args": ["sh"], "cwd": "/"], "root": ["path": "rootfs"]],
                      to: bundle + "/config.json")
        let containerd = try hook(labelFlags + ["--bundle", bundle, "--state-dir", state])
        #expect(containerd.status == 0, "\(containerd.stderr)")

        let json = try hook(["list", "--json", "--state-dir", state])
        let rows = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        let holders = Set(rows.compactMap { $0["holder"] as? String })
        #expect(holders == ["podman d8a27e1982fe", "containerd default/redis1"])

        let text = try hook(["list", "--state-dir", state]).stdoutText
        let header = try #require(text.split(separator: "\n").first)
        #expect(header.split(separator: " ") == ["LEVEL", "KEY", "HOLDER", "AGE", "STATE", "ROOTS"])
        #expect(text.contains("podman d8a27e1982fe"))
    }
}

@Suite("svirt-hook binary: a level two containers carry")
struct SharedLevelBinaryTests {
    @Test("the second container given a level the store holds for another is warned about on stderr, and still labeled")
    func secondHolderWarned() throws {
        let dir = try TemporaryDirectory(prefix: "shared")
        let state = dir.file("state")
        func config(_ root: String) -> Data {
            Data(#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","selinuxLabel":"system_u:system_r:svirt_lxc_net_t:s0:c5,c6"},"root":{"path":"\#(root)"},"hostname":"\#(root.split(separator: "/").last!)"}"#.utf8)
        }
        let first = try hook(labelFlags + ["--stage", "precreate", "--state-dir", state], stdin: config(dir.file("one")))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("also held"), "\(first.stderr)")
        let second = try hook(labelFlags + ["--stage", "precreate", "--state-dir", state], stdin: config(dir.file("two")))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("svirt-hook: level s0:c5,c6 of root:\(dir.file("two")) (hostname two) is also held by root:\(dir.file("one")) (hostname one)"), "\(second.stderr)")
        #expect(second.stderrLines.count == 1)
    }
}

/// The hook run as an unprivileged user, as rootless podman runs it (with
/// an empty environment): `nobody`, whose home /nonexistent cannot hold a
/// store.
@Suite("svirt-hook binary as a user without a store of their own",
       .enabled(if: Tool.missing(["setpriv"], root: true) == nil))
struct RootlessCallerTests {
    static func asNobody(_ arguments: [String], stdin: Data) throws -> RunResult {
        try run(Tool.path("setpriv")!, ["--reuid=65534", "--regid=65534", "--clear-groups", Paths.binary] + arguments,
                stdin: stdin, environment: [:])
    }

    @Test("a container that carries podman's label starts, with a notice that its level is not recorded")
    func labeledStartsWithNotice() throws {
        let config = Data(#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","selinuxLabel":"system_u:system_r:svirt_lxc_net_t:s0:c5,c6"},"root":{"path":"/tmp/x"}}"#.utf8)
        let result = try Self.asNobody(labelFlags + ["--stage", "precreate"], stdin: config)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("svirt-hook: level s0:c5,c6 not recorded, so it is not kept from other containers: "), "\(result.stderr)")
        #expect(result.stderr.contains("/nonexistent/.local/share/svirt-hook"), "the user's own store is the one tried: \(result.stderr)")
        #expect(result.stderrLines.count == 1)
        #expect(!result.stdout.isEmpty)
    }

    @Test("a container that needs a level fails with exit 6 naming the user's store, not the system's")
    func unlabeledFailsClearly() throws {
        let config = Data(#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"/tmp/x"}}"#.utf8)
        let result = try Self.asNobody(labelFlags + ["--stage", "precreate"], stdin: config)
        #expect(result.status == 6)
        #expect(result.stderr.contains("/nonexistent/.local/share/svirt-hook"), "\(result.stderr)")
        #expect(!result.stderr.contains("/var/lib/svirt-hook"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
