import SVirtHook

// Placeholder so the package builds while this mode is written; replaced by
// the real HookCommand before anything is called done.
enum HookCommand {
    static func run(_ arguments: [String]) -> ExitCode {
        _ = arguments
        return .usage
    }
}
