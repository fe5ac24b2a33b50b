import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kubernetes pods as kubelet makes them, through containerd 1.6's CRI
/// plugin, with svirt-runc as the runc binary of the CRI's runc runtime.
///
/// containerd runs with its own root, state and socket, and the CRI plugin
/// on: native snapshotter, `enable_selinux = false` (containerd labels
/// nothing itself, svirt-hook does), AppArmor off, an empty CNI conf dir
/// (the plugin only logs that no network config exists; host-network pods
/// need none), runc's state under the test directory (the runc options'
/// `Root`), and a busybox image whose entrypoint sleeps as the pause image.
/// The wrapper's real runtime is the recorder of ContainerdWrapperTests:
/// it saves each create's config.json and strips the labels runc refuses
/// here (SELinux off), then execs runc.
///
/// The CRI client is cri/cri_client.py: grpcio with stubs compiled at test
/// time from cri/runtime_v1_subset.proto (field numbers as in k8s.io/cri-api).
@Suite("Kubernetes pods through containerd's CRI plugin", .serialized,
       .enabled(if: CRIClient.skipReason == nil))
final class CRIPodTests {
    static let image = "localhost/svirt-pause:latest"
    /// What kubelet sends for a `hostNetwork: true` pod: node network and,
    /// with it, no hostname of its own (runc refuses a hostname without a
    /// private UTS namespace, and containerd leaves the host's).
    static var hostNetwork: [String: Any] { ["network": "NODE"] }

    let dir: TemporaryDirectory
    let cri: CRIClient
    var daemon: Process?

    init() throws {
        dir = try TemporaryDirectory(prefix: "cri")
        let d = dir
        cri = CRIClient(python: CRIClient.python!, socket: d.file("sock"), generated: d.file("cri-gen"))
        try FileManager.default.createSymbolicLink(atPath: d.file("svirt-runc"), withDestinationPath: Paths.binary)
        try writeRecorder(in: d)
        try FileManager.default.createDirectory(atPath: d.file("cni-conf"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d.file("cni-bin"), withIntermediateDirectories: true)
        let section = #"[plugins."io.containerd.grpc.v1.cri""#
        try d.write("config.toml", """
        version = 2
        \(section)]
          sandbox_image = "\(Self.image)"
          enable_selinux = false
          disable_apparmor = true
          restrict_oom_score_adj = true
          stream_server_address = "127.0.0.1"
          stream_server_port = "0"
        \(section).containerd]
          snapshotter = "native"
          default_runtime_name = "runc"
        \(section).containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          pod_annotations = ["io.svirt.label"]
        \(section).containerd.runtimes.runc.options]
          BinaryName = "\(d.file("svirt-runc"))"
          Root = "\(d.file("runc-root"))"
        \(section).cni]
          bin_dir = "\(d.file("cni-bin"))"
          conf_dir = "\(d.file("cni-conf"))"
        """)

        // The shim inherits containerd's environment and runs the runc
        // binary, so the wrapper's settings go in containerd's.
        let client = cri
        daemon = try startDaemon(
            Tool.path("containerd")!,
            ["--config", d.file("config.toml"), "--root", d.file("root"), "--state", d.file("state"), "--address", d.file("sock")],
            environment: ["SVIRT_RUNTIME": d.file("recorder"),
                          "SVIRT_HOOK_FLAGS": (labelFlags + ["--state-dir", d.file("svirt-state")]).joined(separator: " ")],
            log: d.file("containerd.log"), name: "containerd's CRI") { (try? client.invoke("Version", timeout: 5))?.status == 0 }

        // The pause image: busybox, entrypoint `sleep 3600`, in the
        // namespace the CRI plugin uses, unpacked for its snapshotter.
        try makeRootfs(at: d.file("rootfs"))
        try run("/bin/tar", ["-C", d.file("rootfs"), "-cf", d.file("rootfs.tar"), "."])
        let podman = [Tool.path("podman")!, "--root", d.file("pstorage"), "--runroot", d.file("prun"),
                      "--storage-driver", "vfs", "--events-backend", "file"]
        let imported = try run(podman[0], Array(podman.dropFirst()) + [
            "import", "--change", #"ENTRYPOINT ["/bin/sleep", "3600"]"#, d.file("rootfs.tar"), Self.image])
        let saved = try run(podman[0], Array(podman.dropFirst()) + ["save", "--format", "oci-archive", "-o", d.file("pause.tar"), Self.image])
        guard imported.status == 0, saved.status == 0 else { throw TestFailure("podman import/save: \(imported.stderr)\(saved.stderr)") }
        let loaded = try run(Tool.path("ctr")!, ["--address", d.file("sock"), "--namespace", "k8s.io", "images", "import",
                                                 "--snapshotter", "native", "--base-name", "localhost/svirt-pause", d.file("pause.tar")])
        guard loaded.status == 0 else { throw TestFailure("ctr -n k8s.io images import: \(loaded.stderr)") }
    }

    deinit {
        // Pods first: RemovePodSandbox removes the pod's containers too, and
        // each task's shim exits with its task.
        if let pods = try? cri.call("ListPodSandbox")["items"] as? [[String: Any]] {
            for id in pods.compactMap({ $0["id"] as? String }) {
                _ = try? cri.invoke("StopPodSandbox", ["pod_sandbox_id": id])
                _ = try? cri.invoke("RemovePodSandbox", ["pod_sandbox_id": id])
            }
        }
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGTERM)
            if !waitExit(daemon, seconds: 10) {
                kill(daemon.processIdentifier, SIGKILL)
                _ = waitExit(daemon, seconds: 5)
            }
        }
        // Whatever a failed test left: containers runc still knows (their
        // state is under the test directory), shims of this containerd,
        // mounts under the test directory (sandbox shm, task roots).
        let runcRoot = dir.file("runc-root/k8s.io")
        for id in (try? FileManager.default.contentsOfDirectory(atPath: runcRoot)) ?? [] {
            _ = try? run(Tool.path("runc")!, ["--root", runcRoot, "delete", "--force", id], timeout: 10)
        }
        for pid in processes(withArgument: dir.file("sock")) { kill(pid, SIGKILL) }
        unmountAll(under: dir.path)
    }

    // MARK: - Pod and container steps, as kubelet takes them

    struct Pod {
        let id: String
        /// The PodSandboxConfig, which CreateContainer takes again.
        let config: [String: Any]
    }

    private func runPod(_ name: String, annotations: [String: String] = [:], selinux: [String: Any]? = nil) throws -> Pod {
        var security: [String: Any] = ["namespace_options": Self.hostNetwork]
        if let selinux { security["selinux_options"] = selinux }
        let config: [String: Any] = [
            "metadata": ["name": name, "uid": "uid-\(name)", "namespace": "default", "attempt": 0],
            "annotations": annotations,
            "linux": ["security_context": security],
        ]
        let reply = try cri.call("RunPodSandbox", ["config": config])
        let id = try #require(reply["pod_sandbox_id"] as? String, "\(reply)")
        return Pod(id: id, config: config)
    }

    /// CreateContainer then StartContainer; runc create (and so the
    /// recorder) runs at the start.
    private func startContainer(_ name: String, in pod: Pod, attempt: Int = 0, selinux: [String: Any]? = nil) throws -> String {
        var security: [String: Any] = ["namespace_options": Self.hostNetwork]
        if let selinux { security["selinux_options"] = selinux }
        let config: [String: Any] = [
            "metadata": ["name": name, "attempt": attempt],
            "image": ["image": Self.image],
            "command": ["/bin/sleep", "300"],
            "linux": ["security_context": security],
        ]
        let created = try cri.call("CreateContainer", ["pod_sandbox_id": pod.id, "config": config, "sandbox_config": pod.config])
        let id = try #require(created["container_id"] as? String, "\(created)")
        _ = try cri.call("StartContainer", ["container_id": id])
        return id
    }

    /// kubelet's stop: timeout 0 is SIGKILL at once (sleep as PID 1 would
    /// ignore SIGTERM).
    private func stopContainer(_ id: String) throws {
        _ = try cri.call("StopContainer", ["container_id": id, "timeout": 0])
        let status = try cri.call("ContainerStatus", ["container_id": id])
        #expect((status["status"] as? [String: Any])?["state"] as? String == "CONTAINER_EXITED", "\(status)")
    }

    private func removePod(_ pod: Pod) throws {
        _ = try cri.call("StopPodSandbox", ["pod_sandbox_id": pod.id])
        _ = try cri.call("RemovePodSandbox", ["pod_sandbox_id": pod.id])
    }

    /// The config.json the runtime was handed for `id`, labels included.
    private func received(_ id: String) throws -> [String: Any] {
        try jsonObject(file: dir.file("received-\(id).json"))
    }

    private func level(of id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(expectLabeled(try received(id), sourceLocation: sourceLocation), sourceLocation: sourceLocation)
    }

    private func reservations() throws -> [[String: Any]] {
        let listed = try hook(["list", "--json", "--state-dir", dir.file("svirt-state")])
        #expect(listed.status == 0, "\(listed.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]])
    }

    private func log() -> String {
        (try? String(contentsOfFile: dir.file("containerd.log"), encoding: .utf8)).map { String($0.suffix(4000)) } ?? ""
    }

    // MARK: - Tests

    @Test("a pod's sandbox and its two containers share one level, recorded once for the pod")
    func podSharesOneLevel() throws {
        let pod = try runPod("pod-a")
        let app = try startContainer("app", in: pod)
        let sidecar = try startContainer("sidecar", in: pod)

        let sandboxConfig = try received(pod.id)
        #expect(sandboxConfig[path: "annotations", "io.kubernetes.cri.container-type"] as? String == "sandbox")
        #expect(try received(app)[path: "annotations", "io.kubernetes.cri.sandbox-id"] as? String == pod.id)
        let sandboxLevel = try level(of: pod.id)
        #expect(try level(of: app) == sandboxLevel, "app's level differs from its sandbox's")
        #expect(try level(of: sidecar) == sandboxLevel, "sidecar's level differs from its sandbox's")

        let rows = try reservations()
        #expect(rows.count == 1, "one pod, one reservation: \(rows)")
        let row = try #require(rows.first { $0["key"] as? String == "sandbox:\(pod.id)" }, "\(rows)")
        #expect(row["level"] as? String == sandboxLevel)
        #expect(row["holder"] as? String == "pod default/pod-a")
        // Each task's root is recorded: the pod lives while any of them does.
        let roots = (row["roots"] as? [String]) ?? []
        for id in [pod.id, app, sidecar] {
            #expect(roots.contains(dir.file("state/io.containerd.runtime.v2.task/k8s.io/\(id)/rootfs")), "\(id) not in \(roots)")
        }
    }

    @Test("a second pod gets another level")
    func secondPodAnotherLevel() throws {
        let first = try runPod("pod-a")
        let second = try runPod("pod-b")
        let inFirst = try startContainer("app", in: first)
        let inSecond = try startContainer("app", in: second)
        let a = try level(of: first.id), b = try level(of: second.id)
        #expect(a != b, "two pods share level \(a)")
        #expect(try level(of: inFirst) == a)
        #expect(try level(of: inSecond) == b)
        let keys = Set(try reservations().compactMap { $0["key"] as? String })
        #expect(keys == ["sandbox:\(first.id)", "sandbox:\(second.id)"])
    }

    @Test("a container restarted in its pod keeps the level: CRI never restarts an exited container, kubelet's new attempt gets the pod's level")
    func restartedContainerKeepsLevel() throws {
        let pod = try runPod("pod-a")
        let first = try startContainer("app", in: pod)
        let podLevel = try level(of: pod.id)
        #expect(try level(of: first) == podLevel)

        try stopContainer(first)
        // containerd refuses to start an exited container again, so a
        // restart is always a new container (attempt + 1) in the sandbox.
        let again = try cri.invoke("StartContainer", ["container_id": first])
        #expect(again.status != 0)
        #expect(again.stderr.contains("CONTAINER_EXITED"), "\(again.stderr)")
        _ = try cri.call("RemoveContainer", ["container_id": first])

        // The sandbox's root is still there: gc keeps the pod's level and
        // only forgets the removed container's root.
        let gc = try hook(["gc", "--state-dir", dir.file("svirt-state")])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(!gc.stdoutText.contains("freed \(podLevel) key sandbox:\(pod.id)"), "gc freed a pod whose sandbox still runs: \(gc.stdoutText)")
        #expect(gc.stdoutText.contains("pruned roots of \(podLevel) key sandbox:\(pod.id)") && gc.stdoutText.contains(first),
                "\(gc.stdoutText)")

        let second = try startContainer("app", in: pod, attempt: 1)
        #expect(second != first)
        #expect(try level(of: second) == podLevel, "the restarted container got another level than its pod")
        let rows = try reservations()
        #expect(rows.count == 1 && rows.first?["level"] as? String == podLevel, "\(rows)")
    }

    @Test("removing the pod (StopPodSandbox, RemovePodSandbox) and gc free its level")
    func removedPodFreedByGC() throws {
        let pod = try runPod("pod-a")
        let app = try startContainer("app", in: pod)
        let podLevel = try level(of: app)
        let other = try runPod("pod-b")
        let otherLevel = try level(of: other.id)

        try removePod(pod)
        let listed = try cri.call("ListPodSandbox")["items"] as? [[String: Any]] ?? []
        #expect(listed.compactMap { $0["id"] as? String } == [other.id], "\(listed)")

        let gc = try hook(["gc", "--state-dir", dir.file("svirt-state")])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdoutText.contains("freed \(podLevel) key sandbox:\(pod.id)"), "\(gc.stdoutText)")
        #expect(!gc.stdoutText.contains(other.id), "gc freed the pod still running: \(gc.stdoutText)")
        let rows = try reservations()
        #expect(rows.compactMap { $0["key"] as? String } == ["sandbox:\(other.id)"], "\(rows)")
        #expect(rows.first?["level"] as? String == otherLevel)
    }

    /// containerd 1.6.20 turns seLinuxOptions into labels with go-selinux,
    /// which `enable_selinux = false` disables (as a host without SELinux
    /// does): the labels come back empty, and nothing else carries the
    /// options. So the config has no trace of them, and the pod gets a
    /// level from svirt-hook like any other.
    @Test("seLinuxOptions level s0:c5,c6 with enable_selinux=false reaches config.json nowhere: the pod gets a fresh level")
    func seLinuxOptionsDropped() throws {
        let options: [String: Any] = ["user": "system_u", "role": "system_r", "type": "svirt_lxc_net_t", "level": "s0:c5,c6"]
        let pod = try runPod("pod-a", selinux: options)
        let app = try startContainer("app", in: pod, selinux: options)
        for id in [pod.id, app] {
            let config = try received(id)
            let rest = String(decoding: try JSONSerialization.data(withJSONObject: withoutLabels(config)), as: UTF8.self)
            #expect(!rest.contains("c5,c6") && !rest.contains("s0:c5"), "the level reached \(id)'s config: \(rest)")
            #expect(!rest.contains("selinux"), "an SELinux option reached \(id)'s config: \(rest)")
        }
        let podLevel = try level(of: pod.id)
        #expect(try level(of: app) == podLevel)
        #expect(podLevel != "s0:c5,c6")
    }

    @Test("a pod's io.svirt.label annotation, passed through by the runtime's pod_annotations, sets the pod's level")
    func podAnnotationSetsLevel() throws {
        let pod = try runPod("pod-a", annotations: ["io.svirt.label": "level:s0:c5,c6"])
        let app = try startContainer("app", in: pod)
        #expect(try received(app)[path: "annotations", "io.svirt.label"] as? String == "level:s0:c5,c6")
        #expect(try level(of: pod.id) == "s0:c5,c6")
        #expect(try level(of: app) == "s0:c5,c6")
        let rows = try reservations()
        #expect(rows.count == 1 && rows.first?["key"] as? String == "sandbox:\(pod.id)" && rows.first?["level"] as? String == "s0:c5,c6",
                "\(rows)")
    }
}

/// The CRI client (cri/cri_client.py): one RuntimeService call per run,
/// request and reply in protobuf's JSON mapping.
struct CRIClient {
    static let script = Paths.packageRoot + "/Tests/IntegrationTests/cri/cri_client.py"

    /// SVIRT_CRI_PYTHON, then the venv `make deps-test` makes, then python3.
    static let candidates: [String] = {
        var list: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["SVIRT_CRI_PYTHON"] { list.append(explicit) }
        list.append(Paths.packageRoot + "/.build/cri-venv/bin/python")
        if let python3 = Tool.path("python3") { list.append(python3) }
        return list
    }()

    static let python: String? = candidates.first { candidate in
        FileManager.default.isExecutableFile(atPath: candidate)
            && (try? run(candidate, ["-c", "import grpc, grpc_tools.protoc, google.protobuf.json_format"], timeout: 30))?.status == 0
    }

    /// Why the CRI pod tests cannot run here (printed), nil when they can.
    static let skipReason: String? = {
        if let missing = Tool.missing(["containerd", "ctr", "runc", "podman", "jq", "busybox"], root: true) {
            return missing
        }
        if CRIClient.python == nil {
            let reason = "no python with grpcio and grpcio-tools for the CRI client (tried \(CRIClient.candidates.joined(separator: ", "))); `make deps-test` installs them from PyPI into .build/cri-venv"
            FileHandle.standardError.write(Data("SKIPPING (integration): \(reason)\n".utf8))
            return reason
        }
        return nil
    }()

    let python: String
    let socket: String
    /// Where the stubs are compiled (once per test directory).
    let generated: String

    func invoke(_ method: String, _ request: [String: Any] = [:], timeout: Double = 60) throws -> RunResult {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        var environment = ProcessInfo.processInfo.environment
        environment["CRI_CLIENT_GEN"] = generated
        return try run(python, [Self.script, socket, method, json], environment: environment, timeout: timeout)
    }

    /// The reply; a failed call throws with the client's stderr.
    func call(_ method: String, _ request: [String: Any] = [:]) throws -> [String: Any] {
        let result = try invoke(method, request)
        guard result.status == 0 else { throw TestFailure("CRI \(method) failed (\(result.status)): \(result.stderr)") }
        return try jsonObject(result.stdout)
    }
}

private func waitExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning { return false }
    process.waitUntilExit()
    return true
}

/// Pids whose command line has `argument` as one of its arguments.
private func processes(withArgument argument: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry), pid != getpid(),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.contains(argument) ? pid : nil
    }
}

/// Detaches every mount at or below `path`, deepest first.
private func unmountAll(under path: String) {
    guard let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return }
    let points = info.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        let point = fields[4].replacingOccurrences(of: "\\040", with: " ")
        return point == path || point.hasPrefix(path + "/") ? point : nil
    }
    for point in points.reversed() { umount2(point, Int32(MNT_DETACH)) }
}
