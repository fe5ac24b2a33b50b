import Testing
import SVirtOCI
@testable import SVirtHook

private let id = "d8a27e1982fec8a1729bf222eb1f850394329ff0cb5c776fddd20da3d11dd491"

private func holder(_ text: String, sandbox: String? = nil, bundle: String? = nil) -> String? {
    ContainerHolder.describe(config(text), sandboxID: sandbox, bundle: bundle)
}

@Suite("ContainerHolder: who a container is, from its config")
struct ContainerHolderTests {
    @Test("podman: the id in cgroupsPath, short, in both cgroup managers' forms")
    func podman() {
        #expect(holder(#"{"hostname":"d8a27e1982fe","linux":{"cgroupsPath":"/libpod_parent/libpod-\#(id)"}}"#) == "podman d8a27e1982fe")
        #expect(holder(#"{"linux":{"cgroupsPath":"machine.slice:libpod:\#(id)"}}"#) == "podman d8a27e1982fe")
        #expect(holder(#"{"linux":{"cgroupsPath":"/machine.slice/libpod-\#(id).scope"}}"#) == "podman d8a27e1982fe")
    }

    @Test("a hostname the user chose is shown next to the id; the default one (the id's prefix) is not repeated")
    func hostnameBesideID() {
        #expect(holder(#"{"hostname":"web","linux":{"cgroupsPath":"system.slice:docker:\#(id)"}}"#) == "docker d8a27e1982fe (hostname web)")
        #expect(holder(#"{"hostname":"d8a27e1982fe","linux":{"cgroupsPath":"/docker/\#(id)"}}"#) == "docker d8a27e1982fe")
    }

    @Test("a pod by the CRI annotations of containerd and CRI-O, else by its sandbox id")
    func pods() {
        let containerd = #"{"annotations":{"io.kubernetes.cri.sandbox-namespace":"default","io.kubernetes.cri.sandbox-name":"web"}}"#
        #expect(holder(containerd, sandbox: id) == "pod default/web")
        let crio = #"{"annotations":{"io.kubernetes.pod.namespace":"kube-system","io.kubernetes.pod.name":"dns"}}"#
        #expect(holder(crio, sandbox: id) == "pod kube-system/dns")
        #expect(holder(#"{"hostname":"x"}"#, sandbox: id) == "pod sandbox d8a27e1982fe")
    }

    @Test("containerd's bundle names namespace and id; Docker's namespace moby reads as docker")
    func containerdBundle() {
        #expect(holder("{}", bundle: "/run/containerd/io.containerd.runtime.v2.task/default/redis1") == "containerd default/redis1")
        #expect(holder("{}", bundle: "/run/containerd/io.containerd.runtime.v2.task/moby/\(id)") == "docker d8a27e1982fe")
        #expect(holder("{}", bundle: "/run/containerd/io.containerd.runtime.v2.task/default") == nil)
    }

    @Test("only a hostname: shown as such; nothing known: no holder")
    func hostnameOnly() {
        #expect(holder(#"{"hostname":"box1"}"#, bundle: "/srv/bundle") == "hostname box1")
        #expect(holder("{}", bundle: "/srv/bundle") == nil)
        #expect(holder(#"{"linux":{"cgroupsPath":"/mygroup/libpod-notanid"}}"#) == nil)
    }

    @Test("a long hostname is cut, so a config cannot grow the record without bound")
    func longHostnameCut() throws {
        let long = String(repeating: "h", count: 5000)
        let text = try #require(holder(#"{"hostname":"\#(long)"}"#))
        #expect(text.count == ContainerHolder.limit)
    }
}

@Suite("podman's own per-container files when svirt-hook is the labeler")
struct PodmanFilesTests {
    static let id = "d8a27e1982fec8a1729bf222eb1f850394329ff0cb5c776fddd20da3d11dd491"
    static func text(labels: String = "", manager: String = "libpod") -> String {
        let run = "/run/containers/storage/vfs-containers/\(id)/userdata"
        return #"{"ociVersion":"1","process":{\#(labels)},"root":{"path":"/r"},"annotations":{"io.container.manager":"\#(manager)"},"mounts":[{"destination":"/etc/hosts","type":"bind","source":"\#(run)/hosts","options":["bind","rprivate"]},{"destination":"/etc/resolv.conf","type":"bind","source":"\#(run)/resolv.conf","options":["bind","rprivate"]},{"destination":"/data","type":"bind","source":"/srv/data","options":["rbind"]},{"destination":"/dev/shm","type":"bind","source":"/var/lib/containers/storage/vfs-containers/\#(id)/userdata/shm","options":["bind"]}]}"#
    }
    static var present: PathFacts { PathFacts(realPath: { $0.hasPrefix("/run/containers") || $0.hasPrefix("/var/lib/containers") ? $0 : nil }) }

    static func plan(_ text: String, paths: PathFacts = present) throws -> Plan {
        let draft = try Planner.plan(config: config(text), settings: HookSettings(baseDirectory: "/b"), policy: testPolicy, paths: paths)
        return try Apply.complete(draft, allocator: { RecordingAllocator() })
    }

    @Test("labeled by the hook: hosts, resolv.conf and shm get the container's private label; other mounts nothing")
    func hookLabelsPodmanFiles() throws {
        let p = try Self.plan(Self.text())
        #expect(p.relabels.map(\.destination) == ["/etc/hosts", "/etc/resolv.conf", "/dev/shm"])
        #expect(Set(p.relabels.map(\.label)) == ["system_u:object_r:container_file_t:s0:c7,c42"])
        #expect(p.relabels.allSatisfy { $0.mode == .private })
    }

    @Test("podman labeled the container itself (its labels in the config): it labeled its files too")
    func podmanLabeledLeavesThem() throws {
        let p = try Self.plan(Self.text(labels: #""selinuxLabel":"system_u:system_r:container_t:s0:c1,c2""#))
        #expect(p.relabels.isEmpty)
    }

    @Test("not podman's config, or files that do not exist where the hook runs: nothing")
    func otherEnginesAndMissingFiles() throws {
        #expect(try Self.plan(Self.text(manager: "other")).relabels.isEmpty)
        #expect(try Self.plan(Self.text(), paths: .none).relabels.isEmpty)
    }
}
