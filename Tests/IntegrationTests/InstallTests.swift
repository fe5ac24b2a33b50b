import Foundation
import Testing

/// `make install-files` as a packager runs it, into a scratch PREFIX.
@Suite("make install-files: the gc timer")
struct InstallTests {
    @Test("the gc service runs the installed binary with GC_FLAGS, systemd accepts both units, and its command works")
    func gcTimerUnits() throws {
        guard let make = Tool.path("make") else {
            print("SKIPPED gcTimerUnits: make is not installed")
            return
        }
        let dir = try TemporaryDirectory(prefix: "install")
        let prefix = dir.file("prefix"), state = dir.file("state")
        let install = try run(make, [
            "-s", "-C", Paths.packageRoot, "install-files",
            "PREFIX=\(prefix)", "OCIHOOKSDIR=\(dir.file("oci-hooks.d"))",
            "CONTAINERSCONFDIR=\(dir.file("containers.conf.d"))", "BUILT=\(Paths.binary)",
            "GC_FLAGS=--state-dir \(state)",
        ])
        #expect(install.status == 0, "\(install.stdoutText)\(install.stderr)")
        let units = prefix + "/lib/systemd/system"
        let service = try String(contentsOfFile: units + "/svirt-hook-gc.service", encoding: .utf8)
        let execLine = try #require(service.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let words = execLine.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        #expect(words == [prefix + "/bin/svirt-hook", "gc", "--state-dir", state])
        #expect(FileManager.default.fileExists(atPath: units + "/svirt-hook-gc.timer"))

        if let analyze = Tool.path("systemd-analyze") {
            let verify = try run(analyze, ["verify", "--man=no", units + "/svirt-hook-gc.service", units + "/svirt-hook-gc.timer"])
            #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderr)")
        } else {
            print("SKIPPED systemd-analyze verify: systemd-analyze is not installed")
        }

        // What the timer would run: a store that does not exist yet is created
        // and has nothing to free.
        let gc = try run(words[0], Array(words.dropFirst()))
        #expect(gc.status == 0, "\(gc.stderr)")
    }
}
