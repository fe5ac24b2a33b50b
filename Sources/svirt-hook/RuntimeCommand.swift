import SVirtHook

// Placeholder so the package builds while this mode is written; replaced by
// the real RuntimeCommand before anything is called done.
enum RuntimeCommand {
    static func run(_ arguments: [String]) -> ExitCode {
        _ = arguments
        return .usage
    }
}
