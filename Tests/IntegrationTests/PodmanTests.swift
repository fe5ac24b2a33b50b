import Foundation
import Testing

/// podman 4.3.1 with the hooks.d files and containers.conf drop-in exactly as
/// `make install` writes them (into a private prefix), private vfs storage,
/// and an image imported from a busybox rootfs tar.
///
/// runc refuses labeled configs on this SELinux-off host (LAB-NOTES), so a
/// test-only precreate hook sorted after ours (99-capture.json) saves the
/// config podman is about to hand the runtime and strips the two labels.
/// What it saved is what our hook produced and podman accepted.
@Suite("podman with the installed hooks.d files", .serialized,
       .enabled(if: Tool.missing(["podman", "runc", "jq", "make", "busybox", "getfattr"], root: true) == nil))
final class PodmanTests {
    let dir: TemporaryDirectory
    let podman: [String]
    let environment: [String: String]

    init() throws {
        dir = try TemporaryDirectory(prefix: "podman")
        let d = dir
        // make install-files, as a user would with PREFIX, but everything
        // under the test directory and with the test's hook flags.
        let install = try run(Tool.path("make")!, [
            "-s", "-C", Paths.packageRoot, "install-files",
            "PREFIX=\(d.file("prefix"))", "OCIHOOKSDIR=\(d.file("oci-hooks.d"))",
            "CONTAINERSCONFDIR=\(d.file("containers.conf.d"))", "BUILT=\(Paths.binary)",
            "HOOK_FLAGS=--selinux=on --contexts \(Paths.contexts) --state-dir \(d.file("state"))",
        ])
        guard install.status == 0 else { throw TestFailure("make install-files: \(install.stdoutText)\(install.stderr)") }

        try d.write("capture", """
        #!/bin/sh
        /usr/bin/tee \(d.file("seen.json")) | /usr/bin/jq -c 'del(.process.selinuxLabel, .linux.mountLabel)'
        """, executable: true)
        try d.write("capture-hooks.d/99-capture.json", """
        {"version": "1.0.0", "hook": {"path": "\(d.file("capture"))"}, "when": {"always": true}, "stages": ["precreate"]}
        """)
        // The installed drop-in, plus the capture directory and the ulimits
        // this VM needs (no CAP_SYS_RESOURCE, see LAB-NOTES).
        let dropIn = try String(contentsOfFile: d.file("containers.conf.d/50-svirt-hook.conf"), encoding: .utf8)
        #expect(dropIn.contains(d.file("prefix/share/svirt-hook/hooks.d")))
        #expect(dropIn.contains(d.file("oci-hooks.d")))
        let withCapture = dropIn.replacingOccurrences(of: "\n]", with: "\n  \"\(d.file("capture-hooks.d"))\",\n]")
        try d.write("containers.conf", """
        [containers]
        default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
        \(withCapture)
        """)
        environment = ProcessInfo.processInfo.environment.merging(["CONTAINERS_CONF": d.file("containers.conf")]) { $1 }
        podman = [Tool.path("podman")!, "--root", d.file("storage"), "--runroot", d.file("run"),
                  "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"]

        try makeRootfs(at: d.file("rootfs"))
        try run("/bin/tar", ["-C", d.file("rootfs"), "-cf", d.file("rootfs.tar"), "."])
        let imported = try podmanRun(["import", d.file("rootfs.tar"), "localhost/svirt-bb:latest"])
        guard imported.status == 0 else { throw TestFailure("podman import: \(imported.stderr)") }
    }

    deinit {
        _ = try? run(podman[0], Array(podman.dropFirst()) + ["rm", "-af"], environment: environment)
    }

    @discardableResult
    private func podmanRun(_ args: [String]) throws -> RunResult {
        try run(podman[0], Array(podman.dropFirst()) + args, environment: environment)
    }

    private func runContainer(_ args: [String], command: [String]) throws -> RunResult {
        try podmanRun(["run", "--rm", "--runtime", Tool.path("runc")!, "--network", "none"] + args
            + ["localhost/svirt-bb:latest"] + command)
    }

    @Test("the installed registrations: precreate only in the podman-only directory, runtime stages in the shared one")
    func registrations() throws {
        let precreate = try jsonObject(file: dir.file("prefix/share/svirt-hook/hooks.d/50-svirt-hook-precreate.json"))
        #expect(precreate["version"] as? String == "1.0.0")
        #expect(precreate["stages"] as? [String] == ["precreate"])
        #expect(precreate[path: "hook", "path"] as? String == dir.file("prefix/bin/svirt-hook"))
        var sharedStages: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.file("oci-hooks.d")) {
            let registration = try jsonObject(file: dir.file("oci-hooks.d/" + name))
            sharedStages += registration["stages"] as? [String] ?? []
            #expect(registration[path: "when", "always"] as? Bool == true)
        }
        #expect(sharedStages.sorted() == ["createRuntime", "poststop"])
    }

    @Test("podman run: the runtime is handed both labels, one fresh level, and the container runs")
    func labelsReachTheRuntime() throws {
        let result = try runContainer([], command: ["echo", "ran"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "ran\n")
        let seen = try jsonObject(file: dir.file("seen.json"))
        expectLabeled(seen)
        #expect(seen[path: "annotations", "io.container.manager"] as? String == "libpod")
    }

    @Test("podman run -v with io.svirt.relabel=/data:Z: the volume carries the container's file label, z/Z gone from options")
    func relabelsVolume() throws {
        let volume = dir.file("volume")
        try dir.write("volume/inside/file", "x")
        let result = try runContainer(["--annotation", "io.svirt.relabel=/data:Z", "-v", "\(volume):/data:Z"],
                                      command: ["ls", "/data/inside"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "file\n")
        let seen = try jsonObject(file: dir.file("seen.json"))
        let mountLabel = seen[path: "linux", "mountLabel"] as? String
        #expect(mountLabel != nil)
        #expect(fileLabel(volume) == mountLabel)
        #expect(fileLabel(volume + "/inside/file") == mountLabel)
        let mounts = seen["mounts"] as? [[String: Any]] ?? []
        let data = mounts.first { $0["destination"] as? String == "/data" }
        #expect(data != nil)
        let options = data?["options"] as? [String] ?? []
        #expect(!options.contains("z") && !options.contains("Z"), "\(options)")
    }

    @Test("io.svirt.relabel=/shared:z: a shared volume gets the file type at plain s0, readable by every container")
    func relabelsSharedVolume() throws {
        let volume = dir.file("shared")
        try dir.write("shared/file", "x")
        let result = try runContainer(["--annotation", "io.svirt.relabel=/shared:z", "-v", "\(volume):/shared"],
                                      command: ["cat", "/shared/file"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "x")
        #expect(fileLabel(volume) == filePrefix + ":s0")
        #expect(fileLabel(volume + "/file") == filePrefix + ":s0")
    }

    @Test("podman --security-opt label=disable: the hook leaves the config unlabeled")
    func labelDisable() throws {
        let result = try runContainer(["--security-opt", "label=disable"], command: ["true"])
        #expect(result.status == 0, "\(result.stderr)")
        let seen = try jsonObject(file: dir.file("seen.json"))
        #expect(seen[path: "process", "selinuxLabel"] == nil)
        #expect(seen[path: "linux", "mountLabel"] == nil)
    }

    @Test("podman --security-opt label=level:s0:c5,c6: the user's level is used for both labels")
    func labelLevel() throws {
        let result = try runContainer(["--security-opt", "label=level:s0:c5,c6"], command: ["true"])
        #expect(result.status == 0, "\(result.stderr)")
        let seen = try jsonObject(file: dir.file("seen.json"))
        #expect(seen[path: "process", "selinuxLabel"] as? String == processPrefix + ":s0:c5,c6")
        #expect(seen[path: "linux", "mountLabel"] as? String == filePrefix + ":s0:c5,c6")
    }

    @Test("reservation lifecycle: podman start again gets the same level; held while the container exists, freed by gc after podman rm")
    func reservationLifecycle() throws {
        let first = try podmanRun(["run", "--name", "svirt-keep", "--runtime", Tool.path("runc")!, "--network", "none",
                                   "localhost/svirt-bb:latest", "true"])
        #expect(first.status == 0, "\(first.stderr)")
        let level = expectLabeled(try jsonObject(file: dir.file("seen.json")))
        try FileManager.default.removeItem(atPath: dir.file("seen.json"))
        let again = try podmanRun(["start", "--attach", "svirt-keep"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(expectLabeled(try jsonObject(file: dir.file("seen.json"))) == level, "restart changed the level")

        // poststop ran after each stop; the root still exists, so the level stays.
        let held = try hook(["list", "--json", "--state-dir", dir.file("state")])
        #expect(held.status == 0, "\(held.stderr)")
        if let level { #expect(held.stdoutText.contains(level), "\(held.stdoutText)") }

        #expect(try podmanRun(["rm", "svirt-keep"]).status == 0)
        let gc = try hook(["gc", "--state-dir", dir.file("state")])
        #expect(gc.status == 0, "\(gc.stderr)")
        let after = try hook(["list", "--json", "--state-dir", dir.file("state")])
        if let level { #expect(!after.stdoutText.contains(level), "still reserved: \(after.stdoutText)") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
