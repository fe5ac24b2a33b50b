import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// containerd 1.6 started by the test (own root, state, socket), driving the
/// wrapper as its runc binary: `ctr run --runc-binary svirt-runc`.
///
/// The wrapper's real runtime is a recorder that logs every call, saves the
/// config.json it was handed on create, strips the two labels (runc refuses
/// them with SELinux off here, see LAB-NOTES) and execs runc.
@Suite("containerd driving the runtime wrapper", .serialized,
       .enabled(if: Tool.missing(["containerd", "ctr", "runc", "podman", "jq", "busybox"], root: true) == nil))
final class ContainerdWrapperTests {
    let dir: TemporaryDirectory
    let namespace: String
    let ctr: [String]
    var daemon: Process?

    init() throws {
        dir = try TemporaryDirectory(prefix: "ctrd")
        let d = dir
        namespace = "svirt-it-\(getpid())"
        ctr = [Tool.path("ctr")!, "--address", d.file("sock"), "--namespace", namespace]
        try FileManager.default.createSymbolicLink(atPath: d.file("svirt-runc"), withDestinationPath: Paths.binary)
        try writeRecorder(in: d)
        // A wrapper whose labeling must fail: contexts file missing.
        try d.write("svirt-runc-broken", """
        #!/bin/sh
        SVIRT_HOOK_FLAGS="--selinux=on --no-reserve --contexts \(d.file("no-such-lxc_contexts"))" exec \(d.file("svirt-runc")) "$@"
        """, executable: true)
        try d.write("config.toml", """
        version = 2
        disabled_plugins = ["io.containerd.grpc.v1.cri"]
        """)

        // The shim inherits containerd's environment, and the shim runs the
        // runc binary: this is how an operator configures the wrapper.
        let ctr = self.ctr
        daemon = try startDaemon(
            Tool.path("containerd")!,
            ["--config", d.file("config.toml"), "--root", d.file("root"), "--state", d.file("state"), "--address", d.file("sock")],
            environment: ["SVIRT_RUNTIME": d.file("recorder"),
                          "SVIRT_HOOK_FLAGS": (labelFlags + ["--state-dir", d.file("svirt-state")]).joined(separator: " ")],
            log: d.file("containerd.log"), name: "containerd") {
            (try? run(ctr[0], Array(ctr.dropFirst()) + ["version"], timeout: 10))?.status == 0
        }

        // An OCI archive of a busybox image, made with podman from a rootfs tar.
        try makeRootfs(at: d.file("rootfs"))
        try run("/bin/tar", ["-C", d.file("rootfs"), "-cf", d.file("rootfs.tar"), "."])
        let podman = [Tool.path("podman")!, "--root", d.file("pstorage"), "--runroot", d.file("prun"),
                      "--storage-driver", "vfs", "--events-backend", "file"]
        let imported = try run(podman[0], Array(podman.dropFirst()) + ["import", d.file("rootfs.tar"), "localhost/svirt-bb:latest"])
        let saved = try run(podman[0], Array(podman.dropFirst()) + ["save", "--format", "oci-archive", "-o", d.file("bb.tar"),
                                                                   "localhost/svirt-bb:latest"])
        guard imported.status == 0, saved.status == 0 else { throw TestFailure("podman import/save: \(imported.stderr)\(saved.stderr)") }
        let loaded = try ctrRun(["images", "import", "--snapshotter", "native", "--base-name", "localhost/svirt-bb", d.file("bb.tar")])
        guard loaded.status == 0 else { throw TestFailure("ctr images import: \(loaded.stderr)") }
    }

    deinit {
        for id in ["c-run", "c-detached", "c-broken", "c-keep"] {
            _ = try? ctrRun(["task", "kill", "-s", "KILL", id])
            _ = try? ctrRun(["task", "delete", "--force", id])
            _ = try? ctrRun(["container", "delete", id])
        }
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGTERM)
            daemon.waitUntilExit()
        }
        // The snapshotter and shim bundles live under the test directory;
        // runc's own state is under /run/containerd/runc/<namespace>.
        try? FileManager.default.removeItem(atPath: "/run/containerd/runc/\(namespace)")
    }

    @discardableResult
    private func ctrRun(_ args: [String]) throws -> RunResult {
        try run(ctr[0], Array(ctr.dropFirst()) + args)
    }

    private func calls() -> [String] {
        ((try? String(contentsOfFile: dir.file("calls"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("ctr run --rm: create labels the bundle before the runtime sees it; start and delete pass through")
    func runCreateStartDelete() throws {
        let result = try ctrRun(["run", "--rm", "--snapshotter", "native", "--runc-binary", dir.file("svirt-runc"),
                                 "localhost/svirt-bb:latest", "c-run", "echo", "hello"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "hello\n")
        let received = try jsonObject(file: dir.file("received-c-run.json"))
        expectLabeled(received)
        let log = calls()
        #expect(log.contains { $0.contains(" create --bundle ") && $0.hasSuffix(" c-run") }, "\(log)")
        #expect(log.contains { $0.hasSuffix(" start c-run") }, "\(log)")
        #expect(log.contains { $0.hasSuffix(" delete c-run") }, "\(log)")
    }

    @Test("detached container: ps through containerd, state through the wrapper, kill, delete — all untouched")
    func stateKillAndUntouchedCommands() throws {
        let started = try ctrRun(["run", "-d", "--snapshotter", "native", "--runc-binary", dir.file("svirt-runc"),
                                  "localhost/svirt-bb:latest", "c-detached", "sleep", "300"])
        #expect(started.status == 0, "\(started.stderr)")
        expectLabeled(try jsonObject(file: dir.file("received-c-detached.json")))

        let ps = try ctrRun(["task", "ps", "c-detached"])
        #expect(ps.status == 0, "\(ps.stderr)")
        #expect(calls().contains { $0.contains("ps --format json c-detached") })

        // state: the wrapper's answer is runc's own, byte for byte.
        let runcRoot = "/run/containerd/runc/\(namespace)"
        let viaWrapper = try run(dir.file("svirt-runc"), ["--root", runcRoot, "state", "c-detached"],
                                 environment: ["SVIRT_RUNTIME": Tool.path("runc")!])
        let direct = try run(Tool.path("runc")!, ["--root", runcRoot, "state", "c-detached"])
        #expect(viaWrapper.status == 0, "\(viaWrapper.stderr)")
        #expect(viaWrapper.stdout == direct.stdout)
        #expect((try jsonObject(viaWrapper.stdout))["status"] as? String == "running")

        let killed = try ctrRun(["task", "kill", "-s", "KILL", "c-detached"])
        #expect(killed.status == 0, "\(killed.stderr)")
        var stopped = false
        for _ in 0..<50 where !stopped {
            let tasks = try ctrRun(["task", "ls"]).stdoutText
            stopped = tasks.split(separator: "\n").contains { $0.hasPrefix("c-detached") && $0.contains("STOPPED") }
            if !stopped { usleep(100_000) }
        }
        #expect(stopped)
        #expect(calls().contains { $0.hasSuffix("kill c-detached 9") })
        #expect(try ctrRun(["task", "delete", "c-detached"]).status == 0)
        #expect(try ctrRun(["container", "delete", "c-detached"]).status == 0)
        #expect(calls().contains { $0.hasSuffix(" delete c-detached") })
    }

    @Test("a container keeps its level across tasks: task delete, then gc, then a new task gets the same level; container delete then frees it")
    func levelKeptAcrossTasks() throws {
        let state = dir.file("svirt-state")
        let started = try ctrRun(["run", "-d", "--snapshotter", "native", "--runc-binary", dir.file("svirt-runc"),
                                  "localhost/svirt-bb:latest", "c-keep", "sleep", "300"])
        #expect(started.status == 0, "\(started.stderr)")
        let first = try #require(expectLabeled(try jsonObject(file: dir.file("received-c-keep.json"))))
        let listed = try hook(["list", "--json", "--state-dir", state])
        let rows = try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]])
        let row = try #require(rows.first { $0["key"] as? String == "containerd:\(namespace)/c-keep" }, "\(rows)")
        let snapshot = try #require((row["roots"] as? [String])?.first)
        #expect(snapshot.hasPrefix(dir.file("root/io.containerd.snapshotter.v1.native/snapshots/")), "\(snapshot)")

        try stopTask("c-keep")
        #expect(try ctrRun(["task", "delete", "c-keep"]).status == 0)
        let gc = try hook(["gc", "--state-dir", state])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(!gc.stdoutText.contains("c-keep"), "gc freed a container that still exists: \(gc.stdoutText)")

        try FileManager.default.removeItem(atPath: dir.file("received-c-keep.json"))
        let restarted = try ctrRun(["task", "start", "-d", "c-keep"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let second = expectLabeled(try jsonObject(file: dir.file("received-c-keep.json")))
        #expect(second == first, "a new task of the same container got another level")

        try stopTask("c-keep")
        #expect(try ctrRun(["task", "delete", "c-keep"]).status == 0)
        #expect(try ctrRun(["container", "delete", "c-keep"]).status == 0)
        // containerd removes the snapshot in its own garbage collection,
        // shortly after the delete returns: gc frees the level once it has
        // (bounded: 20 s).
        var freed = ""
        for _ in 0..<100 where !freed.contains("c-keep") {
            freed += try hook(["gc", "--state-dir", state]).stdoutText
            if !freed.contains("c-keep") { usleep(200_000) }
        }
        #expect(freed.contains("freed") && freed.contains("containerd:\(namespace)/c-keep"), "\(freed)")
    }

    private func stopTask(_ id: String) throws {
        #expect(try ctrRun(["task", "kill", "-s", "KILL", id]).status == 0)
        var stopped = false
        for _ in 0..<50 where !stopped {
            stopped = try ctrRun(["task", "ls"]).stdoutText.split(separator: "\n").contains { $0.hasPrefix(id) && $0.contains("STOPPED") }
            if !stopped { usleep(100_000) }
        }
        #expect(stopped, "task \(id) did not stop within 5 s")
    }

    @Test("a labeling failure fails ctr run with the wrapper's reason, and the runtime never creates it")
    func labelFailureReachesCtr() throws {
        let result = try ctrRun(["run", "--rm", "--snapshotter", "native", "--runc-binary", dir.file("svirt-runc-broken"),
                                 "localhost/svirt-bb:latest", "c-broken", "true"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("svirt-runc: not creating container c-broken"), "\(result.stderr)")
        #expect(!calls().contains { $0.contains("create") && $0.hasSuffix(" c-broken") })
    }
}
