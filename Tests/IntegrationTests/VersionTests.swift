import Foundation
import Testing

/// `svirt-hook --version` against VERSION, and the wrapper leaving
/// `--version` to the real runtime.
@Suite("svirt-hook --version", .enabled(if: Tool.missing([]) == nil))
struct VersionTests {
    static let version: String = {
        let text = (try? String(contentsOfFile: Paths.packageRoot + "/VERSION", encoding: .utf8)) ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    @Test("prints 'svirt-hook VERSION', with '(git COMMIT)' when make built it from a checkout, and exits 0")
    func printsVersion() throws {
        #expect(!Self.version.isEmpty)
        let result = try hook(["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let line = result.stdoutText
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1, "\(line)")
        let prefix = "svirt-hook \(Self.version)"
        #expect(line == prefix + "\n" || line.hasPrefix(prefix + " (git "), "\(line)")
        if line.hasPrefix(prefix + " (git ") {
            let commit = line.dropFirst(prefix.count + " (git ".count).dropLast(2)
            #expect(line.hasSuffix(")\n"))
            let hex = commit.hasSuffix("-dirty") ? commit.dropLast("-dirty".count) : commit
            #expect(hex.count >= 7 && hex.allSatisfy(\.isHexDigit), "\(line)")
        }
        // Among other flags, too: nothing is read, nothing labeled.
        let among = try hook(["--selinux=on", "--version", "--state-dir", "/nonexistent/state"])
        #expect(among.status == 0 && among.stdoutText == line)
    }

    @Test("version.c's fallback, what a plain `swift build` prints, is VERSION")
    func fallbackMatchesVersionFile() throws {
        let source = try String(contentsOfFile: Paths.packageRoot + "/Sources/CVersion/version.c", encoding: .utf8)
        #expect(source.contains("#define SVIRT_VERSION \"\(Self.version)\"\n"),
                "Sources/CVersion/version.c's fallback differs from VERSION (\(Self.version))")
    }

    @Test("svirt-runc --version and svirt-hook runtime --version run the real runtime with --version")
    func wrapperPassesVersionThrough() throws {
        let dir = try TemporaryDirectory(prefix: "version")
        let fake = try dir.write("fake-runc", """
        #!/bin/sh
        printf '%s\\n' "$@" > \(dir.file("argv"))
        echo "runc version 9.9.9"
        """, executable: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("svirt-runc"), withDestinationPath: Paths.binary)
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SVIRT_RUNTIME": fake]
        for (program, args) in [(dir.file("svirt-runc"), ["--version"]), (Paths.binary, ["runtime", "--version"])] {
            try? FileManager.default.removeItem(atPath: dir.file("argv"))
            let result = try run(program, args, environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdoutText == "runc version 9.9.9\n")
            #expect(try String(contentsOfFile: dir.file("argv"), encoding: .utf8) == "--version\n")
        }
    }
}
