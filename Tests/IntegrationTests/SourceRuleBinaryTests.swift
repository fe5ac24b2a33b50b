import Foundation
import Testing

/// `--relabel-source DIR=z|Z` end to end: a config as Docker writes it
/// (volume options rewritten to rbind,rprivate, no annotations), through
/// the hook in bundle mode and through svirt-runc with SVIRT_HOOK_FLAGS.
@Suite("svirt-hook binary: admin relabel rules for engines that strip z/Z",
       .enabled(if: Tool.missing(["setfattr", "getfattr"], root: true) == nil))
struct SourceRuleBinaryTests {
    static let processLabel = "system_u:system_r:container_t:s0:c7,c9"
    static let mountLabel = "system_u:object_r:container_file_t:s0:c7,c9"

    /// volumes/db (under the rule), elsewhere (not), and volumes/link, a
    /// symlink from inside the rule's directory to elsewhere.
    static func setUp(_ dir: TemporaryDirectory) throws -> (bundle: String, volumes: String) {
        let volumes = dir.file("volumes"), elsewhere = dir.file("elsewhere")
        for d in [volumes + "/db", elsewhere, dir.file("bundle/rootfs")] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        #expect(FileManager.default.createFile(atPath: volumes + "/db/f", contents: Data("x".utf8)))
        #expect(FileManager.default.createFile(atPath: elsewhere + "/g", contents: Data("x".utf8)))
        try FileManager.default.createSymbolicLink(atPath: volumes + "/link", withDestinationPath: elsewhere)
        let mounts = [("/db", volumes + "/db"), ("/e", elsewhere), ("/l", volumes + "/link")].map { destination, source in
            #"{"destination":"\#(destination)","type":"bind","source":"\#(source)","options":["rbind","rprivate"]}"#
        }.joined(separator: ",")
        let config = #"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","selinuxLabel":"\#(processLabel)"},"root":{"path":"rootfs"},"linux":{"mountLabel":"\#(mountLabel)"},"mounts":[\#(mounts)]}"#
        try dir.write("bundle/config.json", config)
        return (dir.file("bundle"), volumes)
    }

    @Test("a volume under the rule's directory is relabeled; one outside, or a symlink leading out, is not")
    func hookBundleMode() throws {
        let dir = try TemporaryDirectory(prefix: "srcrule")
        let (bundle, volumes) = try Self.setUp(dir)
        let result = try hook(labelFlags + ["--no-reserve", "--bundle", bundle, "--relabel-source", "\(volumes)=Z"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fileLabel(volumes + "/db") == Self.mountLabel)
        #expect(fileLabel(volumes + "/db/f") == Self.mountLabel)
        #expect(fileLabel(dir.file("elsewhere")) != Self.mountLabel)
        #expect(fileLabel(dir.file("elsewhere/g")) != Self.mountLabel)
    }

    @Test("the rule reaches svirt-runc through SVIRT_HOOK_FLAGS, as a Docker runtime's environment or runtimeArgs set it")
    func throughTheWrapper() throws {
        let dir = try TemporaryDirectory(prefix: "srcrulewrap")
        let (bundle, volumes) = try Self.setUp(dir)
        let fake = try dir.write("fake-runc", "#!/bin/sh\nexit 0\n", executable: true)
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SVIRT_RUNTIME": fake,
                   "SVIRT_HOOK_FLAGS": (labelFlags + ["--no-reserve", "--relabel-source=\(volumes)=z"]).joined(separator: " ")]
        let result = try run(Paths.binary, ["runtime", "create", "--bundle", bundle, "c1"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fileLabel(volumes + "/db/f") == "system_u:object_r:container_file_t:s0")
        #expect(fileLabel(dir.file("elsewhere/g")) != "system_u:object_r:container_file_t:s0")
    }

    @Test("a malformed rule is a usage error naming it, and nothing is touched")
    func badRule() throws {
        let dir = try TemporaryDirectory(prefix: "srcrulebad")
        let (bundle, volumes) = try Self.setUp(dir)
        let before = try String(contentsOfFile: bundle + "/config.json", encoding: .utf8)
        let result = try hook(labelFlags + ["--no-reserve", "--bundle", bundle, "--relabel-source", "volumes=Z"])
        #expect(result.status == 2)
        #expect(result.stderr == "svirt-hook: --relabel-source volumes=Z: volumes is not an absolute path\n")
        #expect(try String(contentsOfFile: bundle + "/config.json", encoding: .utf8) == before)
        #expect(fileLabel(volumes + "/db/f") != Self.mountLabel)
    }
}
