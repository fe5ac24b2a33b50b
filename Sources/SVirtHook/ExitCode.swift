/// The documented exit codes, one per class of failure, so that a runtime,
/// an engine or a script can tell "your config is bad" from "the host is
/// broken" without parsing stderr. README.md and svirt-hook(1) list them.
public enum ExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    /// `doctor`: at least one check failed (each failure is its own line).
    case checkFailed = 1
    /// The command line is wrong (unknown flag, missing value).
    case usage = 2
    /// The input is not usable: invalid JSON or UTF-8, neither config nor
    /// state, a wrong type at a field we touch, too large or too deep.
    case badInput = 3
    /// A label or label option is malformed or not valid in the policy.
    case badLabel = 4
    /// Host policy facts cannot be read (lxc_contexts, own context).
    case policy = 5
    /// The reservation store is unusable or the category range is exhausted.
    case reservation = 6
    /// A relabel was refused (system path, outside the tree) or failed.
    case relabel = 7
    /// Reading or writing a file failed (missing bundle, unwritable config).
    case io = 8
    /// `--require-label` and the container has no SELinux label.
    case unlabeled = 9
    /// The runtime wrapper could not exec the real runtime.
    case runtimeExec = 10
}
