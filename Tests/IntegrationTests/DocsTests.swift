import Foundation
import Testing

/// The manual and README against the binary they describe.
@Suite("Documentation matches the binary", .enabled(if: Tool.missing([]) == nil))
struct DocsTests {
    private func read(_ relative: String) throws -> String {
        try String(contentsOfFile: Paths.packageRoot + "/" + relative, encoding: .utf8)
    }

    @Test("man/svirt-hook.1 is clean under mandoc -Tlint", .enabled(if: Tool.path("mandoc") != nil))
    func manLint() throws {
        let result = try run(Tool.path("mandoc")!, ["-Tlint", "-Wwarning", Paths.packageRoot + "/man/svirt-hook.1"])
        // "outdated mandoc.db" notes are about the host's man database, not the page.
        let findings = result.stderrLines.filter { !$0.contains("mandoc.db") } + result.stdoutText.split(separator: "\n")
        #expect(result.status == 0)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test("every flag in svirt-hook --help is in the man page and the README")
    func flagsDocumented() throws {
        let help = try hook(["--help"])
        #expect(help.status == 0)
        let flags = Set(help.stdoutText.split(whereSeparator: { !($0.isLetter || $0 == "-") })
            .filter { $0.hasPrefix("--") && $0.count > 2 }.map(String.init))
        #expect(flags.count >= 8, "\(flags)")
        let man = try read("man/svirt-hook.1").replacingOccurrences(of: "Fl \\-", with: "--")
        let readme = try read("README.md")
        for flag in flags {
            #expect(man.contains(flag), "man page lacks \(flag)")
            #expect(readme.contains(flag), "README lacks \(flag)")
        }
    }

    @Test("every documented exit code is in the man page and the README")
    func exitCodesDocumented() throws {
        let man = try read("man/svirt-hook.1"), readme = try read("README.md")
        for code in [0, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
            #expect(man.contains(".It \(code)\n"), "man page lacks exit code \(code)")
            #expect(readme.contains("| \(code) |"), "README lacks exit code \(code)")
        }
    }
}
