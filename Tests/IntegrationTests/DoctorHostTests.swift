import Foundation
import Testing

/// A scratch host: what `make install-files` puts on a Debian host with
/// PREFIX=/usr, a podman on PATH (any executable: doctor only asks whether
/// podman is installed) and systemd "running". `doctor --root` reads it.
private final class ScratchHost {
    let dir: TemporaryDirectory
    var root: String { dir.file("root") }

    init(gcFlags: String = "") throws {
        dir = try TemporaryDirectory(prefix: "doctor")
        guard let make = Tool.path("make") else { throw HostSetupError.noMake }
        let install = try run(make, [
            "-s", "-C", Paths.packageRoot, "install-files", "DESTDIR=\(dir.file("root"))", "PREFIX=/usr",
            "OCIHOOKSDIR=/usr/share/containers/oci/hooks.d", "CONTAINERSCONFDIR=/etc/containers/containers.conf.d",
            "BUILT=\(Paths.binary)", "GC_FLAGS=\(gcFlags)",
        ])
        guard install.status == 0 else { throw HostSetupError.installFailed(install.stdoutText + install.stderr) }
        try dir.write("root/usr/bin/podman", "#!/bin/sh\nexit 0\n", executable: true)
        try FileManager.default.createDirectory(atPath: root + "/run/systemd/system", withIntermediateDirectories: true)
        try enableTimer()
    }

    func write(_ path: String, _ text: String) throws { try dir.write("root" + path, text) }

    func enableTimer() throws {
        let wants = root + "/etc/systemd/system/timers.target.wants"
        try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: wants + "/svirt-hook-gc.timer",
                                                   withDestinationPath: "/usr/lib/systemd/system/svirt-hook-gc.timer")
    }

    /// doctor's lines by check name, and its exit status.
    func doctor(_ extra: [String] = []) throws -> (status: Int32, checks: [String: String], output: String) {
        let result = try hook(["doctor", "--root", root] + extra)
        var checks: [String: String] = [:]
        for line in result.stdoutText.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 2, words[1].hasSuffix(":") else { continue }
            checks[String(words[1].dropLast())] = String(line)
        }
        return (result.status, checks, result.stdoutText + result.stderr)
    }
}

private enum HostSetupError: Error { case noMake, installFailed(String) }

private func status(_ line: String?) -> String? { line?.split(separator: " ").first.map(String.init) }

@Suite("svirt-hook doctor on installed scratch hosts")
struct DoctorHostTests {
    @Test("a fresh make install passes: exit 0, ten checks, only SELinux-off warns on this kernel")
    func installedHostPasses() throws {
        let host = try ScratchHost()
        let (code, checks, output) = try host.doctor()
        #expect(code == 0, "\(output)")
        #expect(checks.count == 10, "\(output)")
        for (name, line) in checks where name != "selinux" {
            #expect(status(line) == "ok", "\(line)")
        }
        #expect(checks["podman-hooks"]?.contains("/usr/share/svirt-hook/hooks.d") == true, "\(output)")
        #expect(checks["podman-hooks"]?.contains("50-svirt-hook.conf") == true, "\(output)")
        #expect(checks["registrations"]?.contains("3 svirt-hook registrations") == true, "\(output)")
    }

    @Test("a later containers.conf drop-in replacing hooks_dir fails podman-hooks and the exit status")
    func laterDropInReplacesHooksDir() throws {
        let host = try ScratchHost()
        try host.write("/etc/containers/containers.conf.d/99-site.conf", "[engine]\nhooks_dir = [\"/etc/site-hooks\"]\n")
        let (code, checks, output) = try host.doctor()
        #expect(code == 1)
        #expect(status(checks["podman-hooks"]) == "fail", "\(output)")
        #expect(checks["podman-hooks"]?.contains("99-site.conf") == true)
    }

    @Test("a drop-in sorting before ours changes nothing: ours is read last")
    func earlierDropInIsOverridden() throws {
        let host = try ScratchHost()
        try host.write("/etc/containers/containers.conf.d/10-site.conf", "[engine]\nhooks_dir = [\"/etc/site-hooks\"]\n")
        let (code, checks, output) = try host.doctor()
        #expect(code == 0, "\(output)")
        #expect(status(checks["podman-hooks"]) == "ok")
    }

    @Test("a rootless user's containers.conf without our directory warns, naming the user")
    func rootlessUserWithoutPrecreate() throws {
        let host = try ScratchHost()
        try host.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
        try host.write("/home/alice/.config/containers/containers.conf", "[engine]\nhooks_dir = [\"/home/alice/hooks\"]\n")
        let (code, checks, output) = try host.doctor()
        #expect(code == 0, "\(output)")
        #expect(status(checks["podman-hooks"]) == "warn", "\(output)")
        #expect(checks["podman-hooks"]?.contains("alice") == true)
    }

    @Test("a precreate file copied into the shared hooks.d fails crio-hooks")
    func precreateInSharedDirectory() throws {
        let host = try ScratchHost()
        let ours = host.root + "/usr/share/svirt-hook/hooks.d/50-svirt-hook-precreate.json"
        try FileManager.default.copyItem(atPath: ours, toPath: host.root + "/usr/share/containers/oci/hooks.d/50-svirt-hook-precreate.json")
        let (code, checks, output) = try host.doctor()
        #expect(code == 1)
        #expect(status(checks["crio-hooks"]) == "fail", "\(output)")
    }

    @Test("a gc unit on another --state-dir than the hooks fails registrations")
    func gcOnAnotherStateDirectory() throws {
        let host = try ScratchHost(gcFlags: "--state-dir /run/svirt-hook")
        let (code, checks, output) = try host.doctor()
        #expect(code == 1)
        #expect(status(checks["registrations"]) == "fail", "\(output)")
        #expect(checks["registrations"]?.contains("/run/svirt-hook") == true)
    }

    @Test("a registration whose binary is gone fails registrations")
    func missingBinary() throws {
        let host = try ScratchHost()
        try FileManager.default.removeItem(atPath: host.root + "/usr/bin/svirt-hook")
        let (code, checks, output) = try host.doctor()
        #expect(code == 1)
        #expect(status(checks["registrations"]) == "fail", "\(output)")
    }

    @Test("a state directory that is a file fails state-dir")
    func stateDirectoryIsAFile() throws {
        let host = try ScratchHost()
        try host.write("/var/lib/svirt-hook", "not a store\n")
        let (code, checks, output) = try host.doctor()
        #expect(code == 1)
        #expect(status(checks["state-dir"]) == "fail", "\(output)")
        #expect(checks["state-dir"]?.contains("not a directory") == true)
    }

    @Test("held levels are counted from the store the registrations name")
    func heldLevelsCounted() throws {
        let host = try ScratchHost()
        let store = host.root + "/var/lib/svirt-hook"
        for key in ["one", "two"] {
            let r = try hook(["reserve", key, "--state-dir", store])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let (code, checks, output) = try host.doctor()
        #expect(code == 0, "\(output)")
        #expect(checks["levels"]?.contains("2 held, 523774 free") == true, "\(output)")
        #expect(checks["state-dir"]?.contains("RENAME_NOREPLACE and flock work") == true, "\(output)")
    }

    @Test("the gc timer: a warning when not enabled, a warning without systemd")
    func gcTimerStates() throws {
        let host = try ScratchHost()
        try FileManager.default.removeItem(atPath: host.root + "/etc/systemd/system/timers.target.wants/svirt-hook-gc.timer")
        var (code, checks, _) = try host.doctor()
        #expect(code == 0)
        #expect(status(checks["gc-timer"]) == "warn")
        #expect(checks["gc-timer"]?.contains("systemctl enable --now svirt-hook-gc.timer") == true)
        try FileManager.default.removeItem(atPath: host.root + "/run/systemd")
        (code, checks, _) = try host.doctor()
        #expect(status(checks["gc-timer"]) == "warn")
        #expect(checks["gc-timer"]?.contains("cron") == true)
    }

    @Test("--json gives the same checks as the text, as an array of check/status/detail/fix")
    func jsonMatchesText() throws {
        let host = try ScratchHost()
        try host.write("/etc/containers/containers.conf.d/99-site.conf", "[engine]\nhooks_dir = [\"/etc/site-hooks\"]\n")
        let (_, text, _) = try host.doctor()
        let result = try hook(["doctor", "--json", "--root", host.root])
        #expect(result.status == 1)
        let array = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        #expect(array.count == text.count)
        for entry in array {
            let name = try #require(entry["check"] as? String)
            let state = try #require(entry["status"] as? String)
            #expect(status(text[name]) == state, "\(name)")
            #expect(entry["detail"] is String)
            #expect(state == "ok" ? entry["fix"] is NSNull : entry["fix"] is String, "\(name)")
        }
    }

    @Test("a stray argument is a usage error, exit 2, one line")
    func usageError() throws {
        let result = try hook(["doctor", "extra"])
        #expect(result.status == 2)
        #expect(result.stderr == "svirt-hook doctor: unexpected argument extra (see --help)\n")
    }
}
