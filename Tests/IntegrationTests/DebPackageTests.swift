import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The .deb `make deb` builds, on this host, with apt-get: install, the
/// installed registrations run the way podman runs them and a podman
/// container through them, then remove and purge. It changes /usr and /etc
/// while it runs, so it runs only when asked: `make
/// test-deb` (CI) builds the .deb and sets SVIRT_TEST_DEB to it; a plain `swift
/// test` skips it. It purges at the end, also after a failure, and refuses
/// a host that already has any of its paths. About 7 s.
@Suite("the .deb: install, run through it, remove, purge", .serialized,
       .enabled(if: debSkipReason == nil))
struct DebPackageTests {
    static let deb = ProcessInfo.processInfo.environment["SVIRT_TEST_DEB"] ?? ""
    static let stateDirectory = "/var/lib/svirt-hook"
    static let conffile = "/etc/containers/containers.conf.d/50-svirt-hook.conf"
    static let timerLink = "/etc/systemd/system/timers.target.wants/svirt-hook-gc.timer"
    /// Paths the package owns or its scripts make; none may exist before.
    static let hostPaths = ["/usr/bin/svirt-hook", "/usr/bin/svirt-runc", "/usr/share/svirt-hook", stateDirectory,
                            conffile, timerLink, "/etc/systemd/system/svirt-hook-gc.timer"]
    static let environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"]

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    @discardableResult
    static func apt(_ args: [String]) throws -> RunResult {
        // Another session's apt or dpkg may hold the lock: wait for it.
        try run(Tool.path("apt-get")!, ["-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + args,
                environment: environment, timeout: 400)
    }

    static func packageStatus() throws -> String? {
        let result = try run(Tool.path("dpkg-query")!, ["-W", "-f=${Status}", "svirt-hook"])
        return result.status == 0 ? result.stdoutText : nil
    }

    static var version: String {
        ((try? String(contentsOfFile: Paths.packageRoot + "/VERSION", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("install: every file make install ships, /etc as conffiles; the hook and its registrations work; remove keeps state and conffiles; purge leaves nothing")
    func lifecycle() throws {
        let dpkgDeb = Tool.path("dpkg-deb")!
        // What is in it, before it touches the host.
        let field = { (name: String) in try run(dpkgDeb, ["-f", Self.deb, name]).stdoutText.trimmingCharacters(in: .newlines) }
        #expect(try field("Package") == "svirt-hook")
        #expect(try field("Version") == Self.version)
        #expect(try field("Depends") == "", "the release binary is static: it needs no library")
        // Everything `make install-files PREFIX=/usr` installs (the way make
        // deb runs it), man pages compressed, and the Debian docs.
        let listing = try run(dpkgDeb, ["-c", Self.deb]).stdoutText
        let debPaths = Set(listing.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: " ./") else { return nil }
            let path = line[start.upperBound...]
            return "/" + String(path.split(separator: " -> ").first ?? path).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        })
        let stage = try TemporaryDirectory(prefix: "deb-stage")
        let staged = try run(Tool.path("make")!, ["-s", "-C", Paths.packageRoot, "install-files", "DESTDIR=\(stage.path)",
                                                  "PREFIX=/usr", "SYSTEMDUNITDIR=/lib/systemd/system", "BUILT=\(Paths.binary)"])
        try #require(staged.status == 0, "\(staged.stdoutText)\(staged.stderr)")
        let installed = try run("/usr/bin/find", [stage.path, "!", "-type", "d"]).stdoutText.split(separator: "\n")
            .map { String($0.dropFirst(stage.path.count)) }
            .map { $0.hasSuffix(".1") ? $0 + ".gz" : $0 }
        #expect(installed.count >= 14, "\(installed)")
        for path in installed + ["/usr/share/doc/svirt-hook/copyright", "/usr/share/doc/svirt-hook/changelog.gz"] {
            #expect(debPaths.contains(path), "the .deb lacks \(path)")
        }

        defer {
            // Whatever failed above or below: leave the host as it was.
            if (try? Self.packageStatus()) != nil { _ = try? Self.apt(["purge", "svirt-hook"]) }
        }
        let install = try Self.apt(["install", "--no-install-recommends", Self.deb])
        try #require(install.status == 0, "apt-get install: \(install.stdoutText)\(install.stderr)")
        #expect(try Self.packageStatus() == "install ok installed")
        let conffiles = try run(Tool.path("dpkg-query")!, ["-W", "-f=${Conffiles}", "svirt-hook"]).stdoutText
        #expect(conffiles.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) } == [Self.conffile])

        let version = try run("/usr/bin/svirt-hook", ["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.hasPrefix("svirt-hook \(Self.version)"), "\(version.stdoutText)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/usr/bin/svirt-runc") == "svirt-hook")
        if Tool.path("deb-systemd-helper") != nil {
            // Enabled as dh_installsystemd enables timers (packaging/deb/README.md).
            #expect(Self.exists(Self.timerLink), "the gc timer is not enabled")
        }

        try registrationsRunAsPodmanRunsThem()
        try maintainerScriptToleratesNoPolicyStore()
        if let reason = Tool.missing(["podman", "runc", "busybox", "jq"]) {
            print("SKIPPED the podman run through the installed package: \(reason)")
        } else {
            try podmanRunsThroughInstalledRegistrations()
        }

        // A reservation in the default store, as a container start makes one.
        let reserved = try run("/usr/bin/svirt-hook", ["reserve", "deb-test-key"])
        #expect(reserved.status == 0, "\(reserved.stderr)")

        let removed = try Self.apt(["remove", "svirt-hook"])
        #expect(removed.status == 0, "apt-get remove: \(removed.stdoutText)\(removed.stderr)")
        #expect(try Self.packageStatus() == "deinstall ok config-files")
        #expect(!Self.exists("/usr/bin/svirt-hook") && !Self.exists("/usr/share/svirt-hook"))
        #expect(Self.exists(Self.conffile), "remove took the conffile")
        let keys = (try? FileManager.default.contentsOfDirectory(atPath: Self.stateDirectory + "/keys")) ?? []
        #expect(keys.count == 1, "remove must keep the reservations: \(keys)")

        let purged = try Self.apt(["purge", "svirt-hook"])
        #expect(purged.status == 0, "apt-get purge: \(purged.stdoutText)\(purged.stderr)")
        #expect(try Self.packageStatus() == nil)
        for path in Self.hostPaths {
            #expect(!Self.exists(path), "\(path) is left after purge")
        }
        let helperState = (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/systemd/deb-systemd-helper-enabled")) ?? []
        #expect(!helperState.contains { $0.contains("svirt-hook") }, "\(helperState)")
    }

    /// Each installed registration's command, with stdin as podman (precreate)
    /// and the runtime (createRuntime, poststop) give it.
    func registrationsRunAsPodmanRunsThem() throws {
        let dir = try TemporaryDirectory(prefix: "deb-hooks")
        let config = try Data(contentsOf: URL(fileURLWithPath: Paths.podmanConfig))
        try writeFile(dir.file("config.json"), config, mode: 0o644)
        let state = Data(#"{"ociVersion":"1.0.2","id":"deb-test","status":"creating","pid":1,"bundle":"\#(dir.path)"}"#.utf8)
        let selinuxOn = FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce")
        for (file, input) in [("/usr/share/svirt-hook/hooks.d/50-svirt-hook-precreate.json", config),
                              ("/usr/share/containers/oci/hooks.d/50-svirt-hook-createruntime.json", state),
                              ("/usr/share/containers/oci/hooks.d/50-svirt-hook-poststop.json", state)] {
            let registration = try jsonObject(file: file)
            let path = try #require(registration[path: "hook", "path"] as? String)
            let args = try #require(registration[path: "hook", "args"] as? [String])
            #expect(path == "/usr/bin/svirt-hook" && args.first == "svirt-hook", "\(file)")
            // podman runs hooks with an empty environment.
            let result = try run(path, Array(args.dropFirst()), stdin: input, environment: [:])
            #expect(result.status == 0, "\(file): \(result.stderr)")
            if file.hasSuffix("precreate.json") {
                if !selinuxOn { #expect(result.stdout == config, "with SELinux off the hook passes the config through") }
                // The same installed command labels when told to.
                let labeled = try run(path, Array(args.dropFirst()) + labelFlags + ["--state-dir", dir.file("state")],
                                      stdin: input, environment: [:])
                #expect(labeled.status == 0, "\(labeled.stderr)")
                expectLabeled(try jsonObject(labeled.stdout))
            }
        }
    }

    /// postinst with semodule present: no policy store is not a failed
    /// install; a semodule that fails on a real store is.
    func maintainerScriptToleratesNoPolicyStore() throws {
        let postinst = "/var/lib/dpkg/info/svirt-hook.postinst"
        let dir = try TemporaryDirectory(prefix: "deb-postinst")
        try dir.write("bin/semodule", """
        #!/bin/sh
        for a in "$@"; do
            case "$a" in -l) echo "base 1.0"; exit 0 ;; -i) echo "semodule: fake failure" >&2; exit 1 ;; esac
        done
        """, executable: true)
        let path = dir.file("bin") + ":" + Self.environment["PATH"]!
        try FileManager.default.createDirectory(atPath: dir.file("empty-root"), withIntermediateDirectories: true)
        let noStore = try run("/bin/sh", [postinst, "configure"],
                              environment: ["PATH": path, "SVIRT_POLICY_ROOT": dir.file("empty-root")])
        #expect(noStore.status == 0, "\(noStore.stderr)")
        #expect(noStore.stderr.contains("svirt_container module is not loaded"), "\(noStore.stderr)")

        try dir.write("store-root/etc/selinux/config", "SELINUX=permissive\nSELINUXTYPE=default\n")
        try FileManager.default.createDirectory(atPath: dir.file("store-root/var/lib/selinux/default"), withIntermediateDirectories: true)
        let failing = try run("/bin/sh", [postinst, "configure"],
                              environment: ["PATH": path, "SVIRT_POLICY_ROOT": dir.file("store-root")])
        #expect(failing.status != 0, "a semodule failure must fail the configure: \(failing.stderr)")
        #expect(failing.stderr.contains("semodule -i"), "\(failing.stderr)")
    }

    /// podman with exactly the installed drop-in (plus the ulimits this VM
    /// needs, see PodmanTests). With SELinux off the hook passes configs
    /// through, so a label cannot show that it ran (PodmanTests' proof).
    /// What does: a test precreate hook sorted before ours re-emits the
    /// config with `process` given twice; Go (podman) takes the last one and
    /// runs the container, svirt-hook refuses the ambiguity with exit 3. So
    /// the container runs with the test hook alone and fails, naming the
    /// installed command, with the installed registrations too. The
    /// createRuntime registration shows in the config podman hands runc.
    /// (podman's debug log would show all three matched, but at debug level
    /// conmon makes every start wait 20 s here.)
    func podmanRunsThroughInstalledRegistrations() throws {
        let dir = try TemporaryDirectory(prefix: "deb-podman")
        let dropIn = try String(contentsOfFile: Self.conffile, encoding: .utf8)
        let ulimits = "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
        try dir.write("installed.conf", ulimits + dropIn)
        try dir.write("duplicate", """
        #!/bin/sh
        /usr/bin/jq -c . | /usr/bin/sed '1s|^{|{"process":{"args":["false"],"cwd":"/"},|'
        """, executable: true)
        try dir.write("test-hooks.d/10-duplicate.json", """
        {"version": "1.0.0", "hook": {"path": "\(dir.file("duplicate"))"}, "when": {"always": true}, "stages": ["precreate"]}
        """)
        try dir.write("test-only.conf", ulimits + "[engine]\nhooks_dir = [\"\(dir.file("test-hooks.d"))\"]\n")
        let withTest = dropIn.replacingOccurrences(of: "\n]", with: "\n  \"\(dir.file("test-hooks.d"))\",\n]")
        #expect(withTest != dropIn, "the drop-in's hooks_dir list changed shape")
        try dir.write("installed-and-test.conf", ulimits + withTest)

        let podman = [Tool.path("podman")!, "--root", dir.file("storage"), "--runroot", dir.file("run"),
                      "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"]
        let p = { (conf: String, args: [String]) in
            try run(podman[0], Array(podman.dropFirst()) + args,
                    environment: ProcessInfo.processInfo.environment.merging(["CONTAINERS_CONF": dir.file(conf)]) { $1 })
        }
        defer { _ = try? p("installed.conf", ["rm", "-af"]) }
        try makeRootfs(at: dir.file("rootfs"))
        try run("/bin/tar", ["-C", dir.file("rootfs"), "-cf", dir.file("rootfs.tar"), "."])
        let imported = try p("installed.conf", ["import", dir.file("rootfs.tar"), "localhost/svirt-deb:latest"])
        try #require(imported.status == 0, "podman import: \(imported.stderr)")
        let runArgs = ["--runtime", Tool.path("runc")!, "--network", "none", "localhost/svirt-deb:latest", "echo", "ran"]

        let installed = try p("installed.conf", ["run", "--name", "svirt-deb"] + runArgs)
        #expect(installed.status == 0, "podman run through the installed package: \(installed.stderr)")
        #expect(installed.stdoutText == "ran\n")
        let configPath = try p("installed.conf", ["inspect", "--format", "{{.OCIConfigPath}}", "svirt-deb"]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let createRuntime = (try jsonObject(file: configPath)[path: "hooks", "createRuntime"] as? [[String: Any]]) ?? []
        #expect(createRuntime.map { $0["path"] as? String } == ["/usr/bin/svirt-hook"])
        #expect(createRuntime.map { $0["args"] as? [String] } == [["svirt-hook", "--stage", "createRuntime"]])

        let testOnly = try p("test-only.conf", ["run", "--rm"] + runArgs)
        #expect(testOnly.status == 0, "podman takes the last of duplicate members: \(testOnly.stderr)")
        #expect(testOnly.stdoutText == "ran\n")
        let both = try p("installed-and-test.conf", ["run", "--rm"] + runArgs)
        #expect(both.status != 0, "the installed precreate hook did not run: \(both.stdoutText)")
        #expect(both.stderr.contains("executing [svirt-hook --stage precreate]: exit status 3"), "\(both.stderr)")
    }
}

/// Why DebPackageTests cannot run here, or nil (printed, like Tool.missing).
let debSkipReason: String? = {
    var reasons: [String] = []
    if DebPackageTests.deb.isEmpty { reasons.append("SVIRT_TEST_DEB is not set (make test-deb sets it)") }
    else if !FileManager.default.fileExists(atPath: DebPackageTests.deb) { reasons.append("no .deb at \(DebPackageTests.deb)") }
    reasons += ["apt-get", "dpkg", "dpkg-deb", "dpkg-query", "make"].filter { Tool.path($0) == nil }.map { "\($0) not installed" }
    if getuid() != 0 { reasons.append("needs root") }
    if reasons.isEmpty {
        if let status = try? run(Tool.path("dpkg-query")!, ["-W", "-f=${Status}", "svirt-hook"]), status.status == 0 {
            reasons.append("svirt-hook is already known to dpkg here (\(status.stdoutText))")
        }
        reasons += DebPackageTests.hostPaths.filter { DebPackageTests.exists($0) }.map { "\($0) exists already" }
    }
    guard !reasons.isEmpty else { return nil }
    let reason = reasons.joined(separator: ", ")
    FileHandle.standardError.write(Data("SKIPPING (deb): \(reason)\n".utf8))
    return reason
}()
