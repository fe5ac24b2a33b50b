import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Debian's dockerd 20.10, started by the test with its own data root, exec
/// root, socket and managed containerd, vfs storage and no networking, with
/// svirt-runc as runtime `svirt` in daemon.json. Its `runtimeArgs` carry the
/// hook flags: dockerd writes them into a script that execs svirt-runc, so
/// they reach the wrapper even though containerd's shim starts it.
///
/// Behind the wrapper is the recorder the containerd tests use: it logs each
/// call, keeps the config.json it got on create, strips the two labels (runc
/// refuses them with SELinux off here) and execs runc.
@Suite("dockerd driving the runtime wrapper", .serialized,
       .enabled(if: Tool.missing(["dockerd", "runc", "jq", "busybox"], root: true) == nil))
final class DockerWrapperTests {
    let dir: TemporaryDirectory
    let docker: [String]
    var daemon: Process?
    var state: String { dir.file("svirt-state") }
    var volumes: String { dir.file("volumes") }

    init() throws {
        dir = try TemporaryDirectory(prefix: "dockerd")
        let d = dir
        // Debian's client matches its daemon; a newer one on PATH also works.
        let client = FileManager.default.isExecutableFile(atPath: "/usr/bin/docker") ? "/usr/bin/docker" : Tool.path("docker")!
        docker = [client, "-H", "unix://" + d.file("docker.sock")]
        try FileManager.default.createSymbolicLink(atPath: d.file("svirt-runc"), withDestinationPath: Paths.binary)
        try writeRecorder(in: d)
        try FileManager.default.createDirectory(atPath: d.file("volumes/data"), withIntermediateDirectories: true)
        try d.write("volumes/data/f", "from the host\n")
        let hookFlags = labelFlags + ["--state-dir", d.file("svirt-state"), "--relabel-source=\(d.file("volumes"))=Z"]
        let daemonConfig: [String: Any] = [
            "runtimes": ["svirt": ["path": d.file("svirt-runc"),
                                   "runtimeArgs": ["--runtime", d.file("recorder")] + hookFlags.map { "--hook-flag=\($0)" }]],
            "storage-driver": "vfs", "iptables": false, "ip-forward": false, "ip-masq": false, "bridge": "none",
            "data-root": d.file("data"), "exec-root": d.file("exec"), "pidfile": d.file("docker.pid"),
            "hosts": ["unix://" + d.file("docker.sock")],
        ]
        try writeJSON(daemonConfig, to: d.file("daemon.json"))

        let docker = self.docker
        daemon = try startDaemon(Tool.path("dockerd")!, ["--config-file", d.file("daemon.json")], environment: [:],
                                 log: d.file("dockerd.log"), name: "dockerd") {
            (try? run(docker[0], Array(docker.dropFirst()) + ["version"], timeout: 10))?.status == 0
        }

        try makeRootfs(at: d.file("rootfs"))
        try run("/bin/tar", ["-C", d.file("rootfs"), "-cf", d.file("rootfs.tar"), "."])
        let imported = try dockerRun(["import", d.file("rootfs.tar"), "svirt-bb:latest"])
        guard imported.status == 0 else { throw TestFailure("docker import: \(imported.stderr)") }
    }

    deinit {
        let ids = (try? dockerRun(["ps", "-aq"]))?.stdoutText.split(separator: "\n").map(String.init) ?? []
        if !ids.isEmpty { _ = try? dockerRun(["rm", "-f"] + ids) }
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGTERM)
            // dockerd stops its containers and its managed containerd; bounded.
            for _ in 0..<150 where daemon.isRunning { usleep(100_000) }
            if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        }
    }

    @discardableResult
    private func dockerRun(_ args: [String]) throws -> RunResult {
        try run(docker[0], Array(docker.dropFirst()) + args)
    }

    /// Starts a detached container, returns its full id.
    private func start(_ name: String, _ extra: [String] = [], command: [String] = ["sleep", "300"]) throws -> String {
        let result = try dockerRun(["run", "-d", "--runtime", "svirt", "--network", "none", "--name", name] + extra
                                   + ["svirt-bb:latest"] + command)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func received(_ id: String) throws -> [String: Any] {
        try jsonObject(file: dir.file("received-\(id).json"))
    }

    private func creates(_ id: String) -> Int {
        ((try? String(contentsOfFile: dir.file("calls"), encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.contains(" create --bundle ") && $0.hasSuffix(" \(id)") }.count
    }

    @Test("two containers get distinct levels; exec passes through to the runtime")
    func distinctLevelsAndExec() throws {
        let a = try start("svirt-a"), b = try start("svirt-b")
        let levelA = try #require(expectLabeled(try received(a)))
        let levelB = try #require(expectLabeled(try received(b)))
        #expect(levelA != levelB)

        let exec = try dockerRun(["exec", "svirt-a", "echo", "inside"])
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(exec.stdoutText == "inside\n")
        let calls = (try? String(contentsOfFile: dir.file("calls"), encoding: .utf8)) ?? ""
        #expect(calls.contains(" exec ") && calls.contains(a), "exec did not reach the runtime")
        #expect(creates(a) == 1, "exec must not create again")
    }

    @Test("stop and start, and a restart by --restart policy, keep the container's level")
    func restartsKeepLevel() throws {
        let id = try start("svirt-stop")
        let first = try #require(expectLabeled(try received(id)))
        #expect(try dockerRun(["stop", "-t", "1", "svirt-stop"]).status == 0)
        #expect(try dockerRun(["start", "svirt-stop"]).status == 0)
        #expect(creates(id) == 2)
        #expect(expectLabeled(try received(id)) == first)

        // Exits at once; dockerd starts it again (bounded: 20 s).
        let looping = try start("svirt-loop", ["--restart", "always"], command: ["sh", "-c", "exit 3"])
        let level = try #require(expectLabeled(try received(looping)))
        var again = false
        for _ in 0..<200 where !again {
            again = creates(looping) >= 2
            if !again { usleep(100_000) }
        }
        #expect(again, "dockerd did not restart the container within 20 s")
        #expect(expectLabeled(try received(looping)) == level)
        _ = try dockerRun(["rm", "-f", "svirt-loop"])
    }

    @Test("--privileged and --pid=host containers are left unlabeled, as Docker's own SELinux support leaves them")
    func privilegedAndHostPIDUnlabeled() throws {
        for (name, flags) in [("svirt-priv", ["--privileged"]), ("svirt-hostpid", ["--pid=host"])] {
            // What the wrapper decided is in the config the runtime received.
            // runc may then refuse --privileged's full capability set where
            // the test itself runs without it (a container build host): the
            // start's outcome is not what this test judges.
            let result = try dockerRun(["create", "--runtime", "svirt", "--network", "none", "--name", name] + flags
                                       + ["svirt-bb:latest", "sleep", "300"])
            #expect(result.status == 0, "\(result.stderr)")
            let id = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try dockerRun(["start", name])
            let config = try received(id)
            #expect(config[path: "process", "selinuxLabel"] == nil, "\(name) was labeled")
            #expect(config[path: "linux", "mountLabel"] == nil, "\(name) was labeled")
        }
    }

    @Test("a -v volume under the admin-named directory is relabeled for the container (Docker strips :Z) and read back")
    func adminRuleRelabelsVolume() throws {
        let id = try start("svirt-vol", ["-v", "\(volumes)/data:/data:Z"], command: ["sh", "-c", "cat /data/f; sleep 300"])
        let config = try received(id)
        let mountLabel = try #require(config[path: "linux", "mountLabel"] as? String)
        let mounts = try #require(config["mounts"] as? [[String: Any]])
        let data = try #require(mounts.first { $0["destination"] as? String == "/data" })
        #expect(data["options"] as? [String] == ["rbind", "rprivate"], "Docker no longer strips :Z? \(data)")
        #expect(fileLabel(volumes + "/data") == mountLabel)
        #expect(fileLabel(volumes + "/data/f") == mountLabel)
        var logs = ""
        for _ in 0..<50 where logs.isEmpty {
            logs = try dockerRun(["logs", "svirt-vol"]).stdoutText
            if logs.isEmpty { usleep(100_000) }
        }
        #expect(logs == "from the host\n")
    }

    @Test("docker rm: list shows the level as gone (Docker runs no poststop), and gc frees it")
    func removeThenGCFrees() throws {
        let id = try start("svirt-rm")
        let level = try #require(expectLabeled(try received(id)))
        #expect(try hook(["list", "--state-dir", state]).stdoutText.contains(level), "level not held")
        #expect(try dockerRun(["rm", "-f", "svirt-rm"]).status == 0)
        let listed = try hook(["list", "--json", "--state-dir", state])
        let rows = try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]])
        #expect(rows.first { $0["level"] as? String == level }?["state"] as? String == "gone", "\(rows)")
        let gc = try hook(["gc", "--state-dir", state])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdoutText.contains("freed \(level)"), "\(gc.stdoutText)")
    }
}
