/// What a runc-style command line asks for, read the way runc reads it, so
/// the runtime wrapper knows whether to label a bundle before handing the
/// unchanged arguments to the real runtime.
///
/// runc parses its command line with urfave/cli v1 on top of Go's `flag`
/// package, which gives three rules this type follows:
/// - global flags come before the subcommand, as `-name`, `--name`,
///   `--name=value` or `--name value`; the first word that is not a flag (or
///   the word after `--`) is the subcommand. A valued flag always takes the
///   next word, so in `--root create run` the subcommand is `run`.
/// - a subcommand's own flags may come before or after its positional
///   arguments (urfave/cli moves them to the front), until a `--`.
/// - when a flag is repeated, the last one wins.
public struct RuntimeInvocation: Equatable, Sendable {
    /// The subcommand (`create`, `run`, `start`, ...), or nil when there is
    /// none (`runc --version`, `runc` alone).
    public var command: String?
    /// The `--bundle`/`-b` value of `create`/`run`/`restore`, when given.
    public var bundle: String?
    /// crun's `--config`/`-f` value (the file it builds the container from
    /// instead of BUNDLE/config.json), when given.
    public var configFile: String?
    /// The container id of `create`/`run` (first positional word), if any.
    public var containerID: String?
    /// `create --help` and the like print usage and touch nothing.
    public var asksForHelp: Bool
    /// The global `--log` file and `--log-format`: engines such as containerd
    /// read the runtime's error from that file, not from stderr.
    public var logPath: String?
    public var logFormat: String?

    public init(
        command: String?, bundle: String? = nil, configFile: String? = nil, containerID: String? = nil,
        asksForHelp: Bool = false, logPath: String? = nil, logFormat: String? = nil
    ) {
        self.command = command
        self.bundle = bundle
        self.configFile = configFile
        self.containerID = containerID
        self.asksForHelp = asksForHelp
        self.logPath = logPath
        self.logFormat = logFormat
    }

    /// The commands that read the bundle's config.json to build a container
    /// (`restore` builds it from the bundle, then restores the checkpoint).
    public static let creatingCommands: Set<String> = ["create", "run", "restore"]

    /// runc 1.1 global flags that take a value, plus crun's extra ones, so
    /// the same parse works for either real runtime.
    public static let valuedGlobalFlags: Set<String> = [
        "root", "log", "log-format", "criu", "rootless",
        "cgroup-manager", "log-level",
    ]

    /// Flags of `create`, `run` and `restore` that take a value (runc 1.1,
    /// crun 1.8), so their values are not taken for the container id.
    public static let valuedCommandFlags: Set<String> = [
        "bundle", "b", "config", "f", "console-socket", "pid-file", "preserve-fds",
        "image-path", "work-path", "manage-cgroups-mode", "empty-ns", "lsm-profile", "lsm-mount-context",
    ]

    /// Boolean flags of runc's `create`, `run` and `restore`: Go also reads
    /// them with one dash (`-file-locks`), which must not be read as crun's
    /// `-f ile-locks`.
    public static let booleanCommandFlags: Set<String> = [
        "d", "detach", "keep", "no-pivot", "no-new-keyring", "no-subreaper", "tcp-established",
        "ext-unix-sk", "shell-job", "file-locks", "auto-dedup", "lazy-pages", "h", "help",
    ]

    /// True when the bundle must be labeled before the runtime sees it.
    public var createsContainer: Bool {
        guard let command else { return false }
        return Self.creatingCommands.contains(command) && !asksForHelp
    }

    /// The directory whose config.json the runtime will read: the bundle
    /// flag's value, else the working directory (as runc defaults; runc also
    /// reads an empty `--bundle=` as the working directory).
    public var bundleDirectory: String {
        guard let bundle, !bundle.isEmpty else { return "." }
        return bundle
    }

    public static func parse(_ arguments: [String]) -> RuntimeInvocation {
        var index = 0
        var command: String?
        var logPath: String?
        var logFormat: String?
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" {
                if index < arguments.count { command = arguments[index]; index += 1 }
                break
            }
            guard let flag = Flag(word) else {
                command = word
                break
            }
            var value = flag.inlineValue
            if value == nil && valuedGlobalFlags.contains(flag.name) {
                // The value, whatever it looks like (`--root create`).
                value = index < arguments.count ? arguments[index] : nil
                index += 1
            }
            if flag.name == "log" { logPath = value }
            if flag.name == "log-format" { logFormat = value }
        }
        var invocation = RuntimeInvocation(command: command, logPath: logPath, logFormat: logFormat)
        guard let command else { return invocation }
        guard creatingCommands.contains(command) else { return invocation }

        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            guard let flag = Flag(crunSpelling: word) ?? Flag(word) else {
                if invocation.containerID == nil { invocation.containerID = word }
                continue
            }
            switch flag.name {
            case "h", "help":
                invocation.asksForHelp = true
            case "b", "bundle", "f", "config":
                var value = flag.inlineValue
                if value == nil && index < arguments.count {
                    value = arguments[index]
                    index += 1
                }
                guard let value else { break }
                if flag.name == "b" || flag.name == "bundle" {
                    invocation.bundle = value
                } else {
                    invocation.configFile = value
                }
            default:
                if flag.inlineValue == nil && valuedCommandFlags.contains(flag.name) { index += 1 }
            }
        }
        return invocation
    }

    /// One command-line word read as a Go flag: `-x`, `--x`, `-x=v`, `--x=v`.
    struct Flag {
        let name: String
        let inlineValue: String?

        init(name: String, inlineValue: String?) {
            self.name = name
            self.inlineValue = inlineValue
        }

        /// The bundle or config flag in a spelling only crun's getopt_long
        /// accepts: an attached short value (`-bDIR`, `-fFILE`), a cluster
        /// after `-d` (`-dfFILE`, `-db DIR`), or a long name cut to a unique
        /// prefix (`--bund`, `--conf=FILE`). runc (Go's flag) rejects all
        /// of these, so reading them crun's way never misreads a runc
        /// command that would run, and a crun config is never missed.
        init?(crunSpelling word: String) {
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let name = body.prefix(while: { $0 != "=" })
                let value = name.count < body.count ? String(body.dropFirst(name.count + 1)) : nil
                if !name.isEmpty && name != "bundle" && "bundle".hasPrefix(name) {
                    self.init(name: "bundle", inlineValue: value)
                } else if name.count >= 4 && name != "config" && "config".hasPrefix(name) {
                    self.init(name: "config", inlineValue: value)
                } else {
                    return nil
                }
                return
            }
            guard word.hasPrefix("-"), !word.contains("=") else { return nil }
            let body = word.dropFirst()
            let goName = String(body)
            guard body.count > 1, !RuntimeInvocation.valuedCommandFlags.contains(goName),
                  !RuntimeInvocation.booleanCommandFlags.contains(goName) else { return nil }
            let rest = body.drop(while: { $0 == "d" })
            guard let short = rest.first, short == "b" || short == "f" else { return nil }
            let value = rest.dropFirst()
            self.init(name: short == "b" ? "bundle" : "config", inlineValue: value.isEmpty ? nil : String(value))
        }

        init?(_ word: String) {
            guard word.count > 1, word.hasPrefix("-") else { return nil }
            var body = word.dropFirst()
            if body.hasPrefix("-") { body = body.dropFirst() }
            // Go's flag package treats "---x" and "-=x" as malformed flags;
            // runc then fails, so whatever we decide here is never run.
            guard !body.isEmpty else { return nil }
            if let eq = body.firstIndex(of: "=") {
                name = String(body[..<eq])
                inlineValue = String(body[body.index(after: eq)...])
            } else {
                name = String(body)
                inlineValue = nil
            }
        }
    }
}
