import SVirtPaths
/// The runtime wrapper's own settings: which real runtime to exec and which
/// hook flags to label with. Engines call the wrapper exactly like runc and
/// often cannot pass it anything but runc's arguments, so every setting can
/// come from the environment; leading wrapper options (which Docker's
/// `runtimeArgs` and a hand-written command line can give) override it.
///
///     svirt-hook runtime [--runtime PATH] [--hook-flag FLAG]... [--] RUNC-ARGS...
///     svirt-runc         [--runtime PATH] [--hook-flag FLAG]... [--] RUNC-ARGS...
///
/// Environment: `SVIRT_RUNTIME` (path or name of the real runtime) and
/// `SVIRT_HOOK_FLAGS` (hook flags separated by blanks, e.g.
/// `--selinux=on --contexts /etc/svirt/lxc_contexts`).
public struct WrapperOptions: Equatable, Sendable {
    /// The runtime the user asked for (path or bare name), nil for the default.
    public var runtime: String?
    /// Flags passed to the in-process hook, after `--bundle DIR`.
    public var hookFlags: [String]
    /// The arguments for the real runtime, unchanged.
    public var runtimeArguments: [String]

    public init(runtime: String? = nil, hookFlags: [String] = [], runtimeArguments: [String] = []) {
        self.runtime = runtime
        self.hookFlags = hookFlags
        self.runtimeArguments = runtimeArguments
    }

    public struct UsageError: Error, Equatable, CustomStringConvertible {
        public let description: String
        /// The runtime's arguments, where parsing got that far: the wrapper
        /// still writes its refusal to the runtime's `--log`, where engines
        /// look for the reason (Docker shows only "unable to retrieve OCI
        /// runtime error" otherwise).
        public var runtimeArguments: [String] = []
    }

    public static let runtimeEnvironment = "SVIRT_RUNTIME"
    public static let hookFlagsEnvironment = "SVIRT_HOOK_FLAGS"

    /// Runtimes tried, in order, when none is named.
    public static let defaultRuntimes = ["runc", "crun"]

    /// Where names are looked up when PATH is unset (engines and hooks often
    /// run with an empty environment).
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Reads the leading wrapper options; the first word that is not one of
    /// them starts runc's arguments. runc and crun have no `--runtime` or
    /// `--hook-flag` global flag, so the two never collide.
    public static func parse(_ arguments: [String], environment: (String) -> String?) throws(UsageError) -> WrapperOptions {
        var options = WrapperOptions()
        options.runtime = environment(runtimeEnvironment).flatMap { $0.isEmpty ? nil : $0 }
        if let flags = environment(hookFlagsEnvironment) {
            options.hookFlags = flags.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        }
        var index = 0
        scan: while index < arguments.count {
            let word = arguments[index]
            let name: Substring
            var inline: String?
            if let eq = word.firstIndex(of: "=") {
                name = word[..<eq]
                inline = String(word[word.index(after: eq)...])
            } else {
                name = word[...]
            }
            switch name {
            case "--":
                index += 1
                break scan
            case "--runtime", "--hook-flag":
                index += 1
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard index < arguments.count else { throw UsageError(description: "option \(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                guard !value.isEmpty else { throw UsageError(description: "option \(name) needs a non-empty value") }
                if name == "--runtime" { options.runtime = value } else { options.hookFlags.append(value) }
            default:
                break scan
            }
        }
        options.runtimeArguments = Array(arguments[index...])
        for flag in options.hookFlags {
            let name = flag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            if reservedHookFlags.contains(String(name)) {
                throw UsageError(description: "hook flag \(name) is not allowed in the wrapper: it labels BUNDLE/config.json itself and stdout is the runtime's",
                                 runtimeArguments: options.runtimeArguments)
            }
        }
        return options
    }

    /// Hook flags the wrapper owns: it labels BUNDLE/config.json with
    /// `--bundle` itself, so another `--bundle` or a `--stage` would label
    /// some other file or act as another stage, and `--help` or `--version`
    /// would print on the stdout the engine reads as the runtime's, and skip
    /// the labeling.
    public static let reservedHookFlags: Set<String> = ["--help", "--version", "--bundle", "--stage"]

    /// The executable paths to try, in order: a name with a slash as given,
    /// otherwise each PATH directory (or `defaultSearchPath`) for the named
    /// runtime, or for runc and then crun.
    public static func candidatePaths(runtime: String?, searchPath: String?) -> [String] {
        let names: [String]
        if let runtime {
            if runtime.contains("/") { return [runtime] }
            names = [runtime]
        } else {
            names = defaultRuntimes
        }
        let path = (searchPath?.isEmpty == false ? searchPath : nil) ?? defaultSearchPath
        // An empty PATH entry means the working directory in execvp; a
        // runtime wrapper must not run whatever `runc` sits in a bundle dir.
        let directories = path.split(separator: ":", omittingEmptySubsequences: true).filter { LexicalPath.isAbsolute(String($0)) }
        var result: [String] = []
        for name in names {
            for directory in directories {
                result.append(directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)")
            }
        }
        return result
    }
}
