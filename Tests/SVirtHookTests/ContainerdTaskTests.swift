import Testing
import SVirtOCI
@testable import SVirtHook

private let bundle = "/run/containerd/io.containerd.runtime.v2.task/default/redis1"
private let snapshot = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7"
private var mounted: PathFacts { PathFacts(persistentSource: { $0 == bundle + "/rootfs" ? snapshot : nil }) }

private func key(_ text: String, base: String? = bundle, paths: PathFacts = mounted) throws -> ContainerKey? {
    try ContainerKey.derive(from: config(text), base: base, paths: paths)
}

@Suite("containerd containers keep their level across tasks")
struct ContainerdTaskTests {
    @Test("a ctr/nerdctl task's root: keyed by namespace and id, alive while its snapshot exists")
    func keyedByNamespaceAndID() throws {
        let k = try #require(try key(#"{"root":{"path":"rootfs"}}"#))
        #expect(k.key == "containerd:default/redis1")
        #expect(k.rootPath == snapshot)
        #expect(k.holder == "containerd default/redis1")
    }

    @Test("an unmounted root (poststop after the shim unmounted it) falls back to the root path key")
    func unmountedFallsBack() throws {
        let k = try #require(try key(#"{"root":{"path":"rootfs"}}"#, paths: .none))
        #expect(k.key == "root:\(bundle)/rootfs")
    }

    @Test("Docker's root outside the bundle keeps its root path key: its layer already lives with the container")
    func dockerUnchanged() throws {
        let moby = "/run/containerd/io.containerd.runtime.v2.task/moby/abc"
        let k = try #require(try key(#"{"root":{"path":"/var/lib/docker/overlay2/L/merged"}}"#, base: moby))
        #expect(k.key == "root:/var/lib/docker/overlay2/L/merged")
        #expect(k.rootPath == "/var/lib/docker/overlay2/L")
    }

    @Test("a pod's sandbox id still wins: the pod shares one level")
    func sandboxWins() throws {
        let k = try #require(try key(#"{"root":{"path":"rootfs"},"annotations":{"io.kubernetes.cri.sandbox-id":"s1"}}"#))
        #expect(k.key == "sandbox:s1")
    }

    @Test("only containerd's task directories count, v2 and the v1 linux runtime")
    func identifyBundles() {
        #expect(ContainerdTask.identify(bundle: bundle)! == ("default", "redis1"))
        #expect(ContainerdTask.identify(bundle: "/run/containerd/io.containerd.runtime.v1.linux/k8s.io/x")! == ("k8s.io", "x"))
        #expect(ContainerdTask.identify(bundle: "/srv/bundles/default/redis1") == nil)
    }
}
