import Foundation
import Testing

/// `make install-files` as a packager runs it, into a scratch PREFIX under
/// `dir`; returns the make variables, for the `uninstall` that undoes it.
private func installFiles(_ make: String, into dir: TemporaryDirectory, _ extra: [String] = []) throws -> [String] {
    let vars = ["PREFIX=\(dir.file("prefix"))", "OCIHOOKSDIR=\(dir.file("oci-hooks.d"))",
                "CONTAINERSCONFDIR=\(dir.file("containers.conf.d"))", "BUILT=\(Paths.binary)"] + extra
    let install = try run(make, ["-s", "-C", Paths.packageRoot, "install-files"] + vars)
    #expect(install.status == 0, "\(install.stdoutText)\(install.stderr)")
    return vars
}

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
        _ = try installFiles(make, into: dir, ["GC_FLAGS=--state-dir \(state)"])
        let units = prefix + "/lib/systemd/system"
        let service = try String(contentsOfFile: units + "/svirt-hook-gc.service", encoding: .utf8)
        let execLine = try #require(service.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let words = execLine.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        #expect(words == [prefix + "/bin/svirt-hook", "gc", "--state-dir", state])
        #expect(FileManager.default.fileExists(atPath: units + "/svirt-hook-gc.timer"))
        // Each user's own store (rootless podman) has the same gc as a user
        // unit, with no GC_FLAGS: the user's default store is the one.
        let userUnits = prefix + "/lib/systemd/user"
        let userService = try String(contentsOfFile: userUnits + "/svirt-hook-gc.service", encoding: .utf8)
        #expect(userService.split(separator: "\n").contains("ExecStart=\(prefix)/bin/svirt-hook gc"), "\(userService)")
        #expect(FileManager.default.fileExists(atPath: userUnits + "/svirt-hook-gc.timer"))

        if let analyze = Tool.path("systemd-analyze") {
            let verify = try run(analyze, ["verify", "--man=no", units + "/svirt-hook-gc.service", units + "/svirt-hook-gc.timer"])
            #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderr)")
            let verifyUser = try run(analyze, ["verify", "--man=no", userUnits + "/svirt-hook-gc.service", userUnits + "/svirt-hook-gc.timer"])
            #expect(verifyUser.status == 0, "\(verifyUser.stdoutText)\(verifyUser.stderr)")
        } else {
            print("SKIPPED systemd-analyze verify: systemd-analyze is not installed")
        }

        // What the timer would run: a store that does not exist yet is created
        // and has nothing to free.
        let gc = try run(words[0], Array(words.dropFirst()))
        #expect(gc.status == 0, "\(gc.stderr)")
    }
}

@Suite("make install-files: shell completions")
struct CompletionInstallTests {
    @Test("bash and zsh completions are installed where bash-completion and zsh look, work from there, and uninstall removes them")
    func completionFiles() throws {
        guard let make = Tool.path("make"), Tool.path("bash") != nil else {
            print("SKIPPED completionFiles: make or bash is not installed")
            return
        }
        let dir = try TemporaryDirectory(prefix: "install-completions")
        let prefix = dir.file("prefix")
        let vars = try installFiles(make, into: dir)
        let bash = prefix + "/share/bash-completion/completions/svirt-hook"
        let zsh = prefix + "/share/zsh/vendor-completions/_svirt-hook"
        #expect(FileManager.default.contentsEqual(atPath: bash, andPath: ShellCompletionTests.bashScript))
        #expect(FileManager.default.contentsEqual(atPath: zsh, andPath: ShellCompletionTests.zshScript))
        // bash-completion loads the file by the command's name and needs the
        // `complete` line in it.
        #expect(try ShellCompletionTests.complete(["svirt-hook", "g"], script: bash) == ["gc"])
        let registered = try run(Tool.path("bash")!, ["--norc", "--noprofile", "-c", "source \"$1\"; complete -p svirt-hook", "bash", bash])
        #expect(registered.stdoutText == "complete -F _svirt_hook svirt-hook\n", "\(registered.stderr)")

        let uninstall = try run(make, ["-s", "-C", Paths.packageRoot, "uninstall"] + vars)
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bash))
        #expect(!FileManager.default.fileExists(atPath: zsh))
    }
}

@Suite("make install-files: the SELinux module")
struct PolicyInstallTests {
    @Test("the module and its loader are installed and removed; without a policy store, install refuses in one line and uninstall has nothing to do")
    func moduleFilesAndLoader() throws {
        guard let make = Tool.path("make") else {
            print("SKIPPED moduleFilesAndLoader: make is not installed")
            return
        }
        guard Tool.path("semodule") != nil else {
            print("SKIPPED moduleFilesAndLoader: semodule is not installed")
            return
        }
        let dir = try TemporaryDirectory(prefix: "policy-install")
        let prefix = dir.file("prefix")
        let vars = try installFiles(make, into: dir)
        let policyDir = prefix + "/share/svirt-hook/policy"
        let installed = try String(contentsOfFile: policyDir + "/svirt_container.cil", encoding: .utf8)
        let shipped = try String(contentsOfFile: Paths.packageRoot + "/policy/svirt_container.cil", encoding: .utf8)
        #expect(installed == shipped)

        // An empty root: no /etc/selinux/config, no store.
        let root = dir.file("empty-root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let env = ["SVIRT_POLICY_ROOT": root, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let refused = try run(policyDir + "/svirt-policy", ["install"], environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("svirt-policy: no SELinux policy store here"))
        #expect(refused.stderr.filter { $0 == "\n" }.count == 1)
        for _ in 0..<2 {
            let removed = try run(policyDir + "/svirt-policy", ["uninstall"], environment: env)
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(removed.stdoutText == "svirt-policy: no SELinux policy store here: svirt_container is not loaded\n")
        }
        // Looking must not create a store as `semodule -l` would.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)

        let uninstall = try run(make, ["-s", "-C", Paths.packageRoot, "uninstall"] + vars)
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(!FileManager.default.fileExists(atPath: policyDir))
    }
}
