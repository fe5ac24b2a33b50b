import SVirtHook
import SVirtHost
import SVirtRelabel
import SVirtSELinux
import SVirtSystem

/// `svirt-hook relabel`: labels volumes ahead of time with the hook's own
/// walker, refusals and stamp (RelabelCommandOptions builds the label as
/// the hook does), so a container start with that label only checks them.
/// Each DIR's line goes to stdout; errors, one line each, to stderr.
enum RelabelCommand {
    static let prefix = "svirt-hook relabel: "

    /// Redraws per second at most: often enough to look alive, rarely
    /// enough that a terminal over ssh is not what slows the walk down.
    static let redrawInterval = 0.25

    static func run(_ words: [String]) -> ExitCode {
        let options: RelabelCommandOptions
        do {
            guard let parsed = try RelabelCommandOptions.parse(words) else {
                try? FileDescriptor.standardOutput.writeAll(Array(RelabelCommandOptions.usage.utf8))
                return .success
            }
            options = parsed
        } catch {
            return fail(error)
        }
        let enabled = HostPolicy.isEnabled()
        let label: String
        do {
            label = try options.label(
                policy: { () throws(HookError) in
                    try PolicyLoader.load(contextsFile: options.contextsFile, selinuxEnabled: enabled)
                },
                validate: enabled ? { HostPolicy.isValidContext($0) } : nil)
        } catch {
            return fail(error)
        }
        let terminal = ProcessInfo.isTerminal(.standardError)
        for directory in options.directories {
            do throws(HookError) {
                try relabel(directory, to: label, full: options.fullRelabel, terminal: terminal)
            } catch {
                return fail(error)
            }
        }
        return .success
    }

    static func relabel(_ directory: String, to label: String, full: Bool, terminal: Bool) throws(HookError) {
        var relabeler = Relabeler()
        relabeler.full = full
        // Asked before the walk, which renews the stamp: afterwards it
        // would always match.
        let stamped = !full && relabeler.isComplete(directory, label: label)
        if terminal {
            relabeler.observer = RelabelObserver(interval: redrawInterval) { progress in
                writeProgress("\r" + ProgressLine.format(progress) + "\u{1B}[K")
            }
        }
        let start = ProcessInfo.monotonicSeconds()
        let report: RelabelReport
        do {
            report = try relabeler.relabel(directory, to: label)
        } catch {
            if terminal { writeProgress("\r\u{1B}[K") }
            throw HookError(.relabel, error.description)
        }
        let elapsed = ProcessInfo.monotonicSeconds() - start
        if terminal { writeProgress("\r\u{1B}[K") }
        for warning in report.warnings { ProcessInfo.writeError(prefix + warning) }
        let summary = ProgressLine.summary(entries: report.visited + report.unread, changed: report.changed,
                                           elapsed: elapsed)
        let what = stamped && report.changed == 0 ? "already labeled \(directory) \(label) (stamp matches)"
                                                  : "labeled \(directory) \(label)"
        // printable: a DIR with a newline in its name still gives one line.
        try? FileDescriptor.standardOutput.writeAll(Array((AdminCommand.printable("\(what): \(summary)") + "\n").utf8))
    }

    private static func writeProgress(_ text: String) {
        try? FileDescriptor.standardError.writeAll(Array(text.utf8))
    }

    static func fail(_ error: HookError) -> ExitCode {
        ProcessInfo.writeError(prefix + error.message)
        return error.code
    }
}
