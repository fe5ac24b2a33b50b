import Foundation
import Testing

/// completions/svirt-hook.bash driven as bash-completion drives it (COMP_WORDS,
/// COMP_CWORD, then COMPREPLY), and both scripts held to the binary's own
/// --help and usage lines, so a new flag cannot be left out.
@Suite("Shell completions", .enabled(if: Tool.missing(["bash"]) == nil))
struct ShellCompletionTests {
    static let bashScript = Paths.packageRoot + "/completions/svirt-hook.bash"
    static let zshScript = Paths.packageRoot + "/completions/_svirt-hook"

    /// What `_svirt_hook` offers for the command line `words`, the last
    /// word being completed.
    static func complete(_ words: [String], script: String = bashScript) throws -> [String] {
        let program = """
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _svirt_hook
        printf '%s\\n' "${COMPREPLY[@]}"
        """
        let result = try run(Tool.path("bash")!, ["--norc", "--noprofile", "-c", program, "bash", script] + words)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        return result.stdoutText.split(separator: "\n").map(String.init)
    }

    /// The `--flags` in a command's help or usage text.
    static func flags(in text: String) -> Set<String> {
        Set(text.split(whereSeparator: { !($0.isLetter || $0 == "-") })
            .filter { $0.hasPrefix("--") && $0.count > 2 }.map(String.init))
    }

    @Test("bash: the commands, a flag from its prefix, and --selinux's values in both spellings")
    func bashBasics() throws {
        #expect(try Self.complete(["svirt-hook", ""]) == ["list", "release", "gc", "reserve", "doctor", "relabel", "runtime"])
        #expect(try Self.complete(["svirt-hook", "--sel"]) == ["--selinux"])
        #expect(try Self.complete(["svirt-hook", "--selinux", ""]) == ["auto", "on", "off"])
        // `--selinux=o` as bash splits it at '=' (COMP_WORDBREAKS), and whole.
        #expect(try Self.complete(["svirt-hook", "--selinux", "=", "o"]) == ["on", "off"])
        #expect(try Self.complete(["svirt-hook", "--selinux", "="]) == ["auto", "on", "off"])
        #expect(try Self.complete(["svirt-hook", "--selinux=o"]) == ["--selinux=on", "--selinux=off"])
        #expect(try Self.complete(["svirt-hook", "--relabel-root", ""]) == ["z", "Z"])
        #expect(try Self.complete(["svirt-hook", "--relabel-source", "/us"]) == ["/usr"])
        #expect(try Self.complete(["svirt-hook", "--relabel-source=/srv/v="]) == ["--relabel-source=/srv/v=z", "--relabel-source=/srv/v=Z"])
        #expect(try Self.complete(["svirt-hook", "relabel", "--l"]) == ["--level", "--label"])
        #expect(try Self.complete(["svirt-hook", "--no-reserve", "--state-dir", "/us"]) == ["/usr"])
        #expect(try Self.complete(["svirt-hook", "reserve", "k1", "--l"]) == ["--level"])
        // After the real runtime's first argument, nothing of ours.
        #expect(try Self.complete(["svirt-hook", "runtime", "--runtime", "/usr/sbin/runc", "create", "--"]).isEmpty)
        #expect(try Self.complete(["svirt-hook", "runtime", "--h"]) == ["--hook-flag"])
    }

    /// The options --help describes: the first word of its option lines
    /// (not flags of other programs named in the notes).
    static func helpOptions() throws -> Set<String> {
        let help = try hook(["--help"])
        #expect(help.status == 0)
        return Set(help.stdoutText.split(separator: "\n").compactMap { line in
            let word = line.drop(while: { $0 == " " }).prefix(while: { $0 != " " && $0 != "=" })
            return line.hasPrefix("  ") && word.hasPrefix("--") ? String(word) : nil
        })
    }

    @Test("bash: every option of --help, and --stage's values as --help lists them")
    func bashFollowsHelp() throws {
        let help = try hook(["--help"])
        let helpFlags = try Self.helpOptions()
        #expect(helpFlags.contains("--selinux") && helpFlags.contains("--version"))
        #expect(Set(try Self.complete(["svirt-hook", "-"])) == helpFlags)
        let stageLine = try #require(help.stdoutText.split(separator: "(").dropFirst()
            .first { $0.hasPrefix("precreate") }?.split(separator: ")").first)
        let stages = stageLine.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init)
        #expect(try Self.complete(["svirt-hook", "--stage", ""]) == stages)
    }

    @Test("bash: each command's flags are those of its usage line")
    func bashFollowsUsage() throws {
        let usage = try hook(["list", "--help"])
        #expect(usage.status == 0)
        for line in usage.stdoutText.split(separator: "\n") {
            let words = line.split(separator: " ")
            let command = String(words[words.firstIndex(of: "svirt-hook")! + 1])
            let offered = Set(try Self.complete(["svirt-hook", command, "--"]))
            #expect(offered == Self.flags(in: String(line)).union(["--help"]), "\(command)")
        }
        let doctor = try hook(["doctor", "--help"])
        #expect(Set(try Self.complete(["svirt-hook", "doctor", "-"])) == Self.flags(in: doctor.stdoutText).union(["--help"]))
        let relabel = try hook(["relabel", "--help"])
        let relabelFlags = Set(relabel.stdoutText.split(separator: "\n").compactMap { line -> String? in
            let word = line.drop(while: { $0 == " " }).prefix(while: { $0 != " " })
            return line.hasPrefix("  ") && word.hasPrefix("--") ? String(word) : nil
        })
        #expect(relabelFlags.contains("--shared"))
        #expect(Set(try Self.complete(["svirt-hook", "relabel", "-"])) == relabelFlags)
    }

    @Test("zsh: the script parses and names every option of --help and the commands",
          .enabled(if: Tool.path("zsh") != nil))
    func zshScript() throws {
        let syntax = try run(Tool.path("zsh")!, ["-n", Self.zshScript])
        #expect(syntax.status == 0, "\(syntax.stderr)")
        let text = try String(contentsOfFile: Self.zshScript, encoding: .utf8)
        #expect(text.hasPrefix("#compdef svirt-hook\n"))
        for flag in try Self.helpOptions() {
            // '*--flag' marks one that may be given more than once.
            #expect(["'", "'*"].contains { text.contains("\($0)\(flag)[") || text.contains("\($0)\(flag)=[") }, "_svirt-hook lacks \(flag)")
        }
        for command in ["list", "release", "gc", "reserve", "doctor", "relabel", "runtime"] {
            #expect(text.contains("'\(command):"), "_svirt-hook lacks \(command)")
        }
    }
}
