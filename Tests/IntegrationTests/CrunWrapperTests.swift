import Foundation
import Testing

/// A labeled config run end to end on this SELinux-off host: the wrapper
/// labels the bundle and execs crun, which (LAB-NOTES) ignores
/// `linux.mountLabel` with SELinux off and `process.selinuxLabel` with
/// `--no-new-keyring`. crun 1.8 refuses this VM's hybrid cgroup layout, so a
/// shim hides /sys/fs/cgroup/unified in a private mount namespace first.
@Suite("Runtime wrapper with crun, labeled config run end to end", .serialized,
       .enabled(if: Tool.missing(["crun", "unshare", "busybox", "runc"], root: true) == nil))
final class CrunWrapperTests {
    let dir: TemporaryDirectory
    let bundle: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "crun")
        bundle = dir.file("bundle")
        try makeRootfs(at: bundle + "/rootfs")
        try run(Tool.path("runc")!, ["spec", "--bundle", bundle])
        try dir.write("crun-shim", """
        #!/bin/sh
        [ -d /sys/fs/cgroup/unified ] || exec \(Tool.path("crun")!) "$@"
        exec unshare -m --propagation private sh -c \\
          'mount -t tmpfs -o size=4k none /sys/fs/cgroup/unified && exec \(Tool.path("crun")!) "$@"' crun-shim "$@"
        """, executable: true)
    }

    deinit {
        for id in ["svirt-it-crun", "svirt-it-crun-exit"] {
            _ = try? run(dir.file("crun-shim"), ["--root", dir.file("root"), "delete", "--force", id])
        }
    }

    private func setCommand(_ script: String) throws {
        var config = try jsonObject(file: bundle + "/config.json")
        var process = config["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = ["sh", "-c", script]
        config["process"] = process
        try writeJSON(config, to: bundle + "/config.json")
    }

    private func wrapper(_ args: [String]) throws -> RunResult {
        try run(Paths.binary, ["runtime", "--runtime", dir.file("crun-shim"), "--"] + ["--root", dir.file("root")] + args,
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                              "SVIRT_HOOK_FLAGS": (labelFlags + ["--no-reserve"]).joined(separator: " ")])
    }

    @Test("svirt-hook runtime run: crun is handed the labeled bundle and the container runs")
    func labeledRun() throws {
        try setCommand("echo in-container")
        let result = try wrapper(["run", "--no-new-keyring", "--bundle", bundle, "svirt-it-crun"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "in-container\n")
        expectLabeled(try jsonObject(file: bundle + "/config.json"))
    }

    @Test("the container's exit status comes back through the wrapper unchanged")
    func exitStatusPassesThrough() throws {
        try setCommand("exit 7")
        let result = try wrapper(["run", "--no-new-keyring", "--bundle", bundle, "svirt-it-crun-exit"])
        #expect(result.status == 7, "\(result.stderr)")
    }
}
