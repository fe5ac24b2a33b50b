import SVirtHook

// Placeholder so the package builds while this mode is written; replaced by
// the real AdminCommand before anything is called done.
enum AdminCommand {
    static func run(_ arguments: [String]) -> ExitCode {
        _ = arguments
        return .usage
    }
}
