import Glibc
import SVirtAllocation
import SVirtHook
import SVirtHost
import SVirtOCI
import SVirtRelabel
import SVirtSELinux
import SVirtSystem
import SVirtPaths

/// `svirt-hook [flags]`: the hook itself. Parses flags, composes the real
/// collaborators (libselinux policy, reservation store, relabeler) and runs
/// `HookRun`; writes stdout or the bundle only after the whole run
/// succeeded. Nothing here reads PATH or HOME: podman runs precreate hooks
/// with an empty environment.
enum HookCommand {
    static let help = """
        usage: svirt-hook [options] < config.json > labeled.json
               svirt-hook [options] --bundle DIR
               svirt-hook [options] < state.json        (as an OCI runtime hook)

        Gives an OCI container an SELinux sVirt label: process.selinuxLabel and
        linux.mountLabel with one unique MCS level (s0:cA,cB), reserved on disk,
        when the config does not set them. Labels already in the config are kept.

        options:
          --selinux=auto|on|off  auto: label when the host has SELinux on, else pass
                                 the input through unchanged; on: label anyway;
                                 off: pass through (default auto)
          --contexts FILE        lxc_contexts file to take the container types from
                                 instead of the policy's
          --stage NAME           hook stage (precreate, prestart, createRuntime,
                                 createContainer, startContainer, poststart,
                                 poststop) instead of detecting it from the input
          --bundle DIR           read DIR/config.json and rewrite it in place
                                 (atomically); print nothing
          --require-label        at runtime stages, fail (exit 9) when the bundle's
                                 config has no label
          --state-dir DIR        reservation store (default /var/lib/svirt-hook)
          --no-reserve           draw a random level without reserving it
          --relabel-root z|Z     relabel the root file system (shared z / private Z)
          --full-relabel         read every file's label on every relabel, instead of
                                 only those in directories changed since the last one
          --relabel-source DIR=z|Z
                                 relabel bind mounts whose source resolves into DIR
                                 (repeatable; for engines that strip z/Z, Docker)
          --privileged-type TYPE label privileged and host-PID/IPC containers with
                                 TYPE (e.g. spc_t) instead of leaving them unlabeled
          --help                 show this help
          --version              print the version (and the git commit it was built from)

        commands (each has --help):
          list, release, gc, reserve  the reservation store by hand
          doctor                      check this host: one ok/warn/fail line per check
          relabel                     label a volume ahead of time, with progress
          runtime                     the runtime wrapper (also as svirt-runc)

        annotations:
          io.svirt.label              label options: disable, type:T, level:L, user:U,
                                      role:R, filetype:F (comma-separated)
          io.podman.annotations.label podman's --security-opt label=... (same options)
          io.svirt.relabel            DEST:z,DEST:Z relabel bind mounts; /:Z the root

        notes:
          A relative root.path or bind source is taken against the bundle (--bundle,
          or the state's bundle); in a piped config, against the current directory.
          z gives a tree the container's file type at s0 (shared), Z the container's
          own file label; read-only mounts get the same labels (not ro_file).
          At runtime stages the config is already read by the runtime: the hook
          only checks the label, relabels requested mounts, and at poststop
          releases the level of a container whose root is gone. A container
          with label=disable passes --require-label: it asked for no label.
          Input is limited to 16 MiB and 128 levels of nesting.

        exit codes: 0 ok, 1 a doctor check failed, 2 usage, 3 bad input, 4 bad label,
          5 policy, 6 reservation, 7 relabel, 8 io, 9 unlabeled (--require-label),
          10 runtime exec (svirt-runc: the real runtime could not be run)

        """

    static let log = SystemLog(identifier: "svirt-hook")

    static func run(_ arguments: [String]) -> ExitCode {
        // A closed stdout must give an error line, not a silent SIGPIPE death.
        signal(SIGPIPE, SIG_IGN)
        do throws(HookError) {
            switch try parse(arguments) {
            case .print(let text):
                try? FileDescriptor.standardOutput.writeAll(Array(text.utf8))
                return .success
            case .run(let options):
                report(notices: try execute(options))
                return .success
            }
        } catch {
            return fail(error)
        }
    }

    /// The pipeline with the host's collaborators: reads the input, runs
    /// parse -> plan -> apply, writes the config. Returns the notices for
    /// the caller to show; the wrapper calls this directly and folds a
    /// failure into its own one line.
    static func execute(_ options: HookOptions) throws(HookError) -> [String] {
        var input: [UInt8]?
        if options.bundle == nil {
            do {
                input = try FileDescriptor.standardInput.readAll(limit: HookRun.inputLimit)
            } catch where error.errno == .tooBig {
                throw HookError(.badInput, "input larger than \(HookRun.inputLimit >> 20) MiB")
            } catch {
                throw HookError(.io, "read stdin: \(error)")
            }
        }
        let result = try HookRun.run(input: input, options: options, environment: environment(options))
        if let rewrite = result.rewrite {
            do {
                try Files.replaceAtomically(rewrite.path, with: rewrite.bytes)
            } catch {
                throw HookError(.io, "rewrite \(rewrite.path): \(error)")
            }
        }
        if let output = result.output {
            do {
                try FileDescriptor.standardOutput.writeAll(output)
            } catch {
                throw HookError(.io, "write stdout: \(error)")
            }
        }
        return result.notices
    }

    /// Notices go to stderr and syslog, one line each.
    static func report(notices: [String]) {
        for notice in notices {
            ProcessInfo.writeError("svirt-hook: \(notice)")
            log.log(.warning, notice)
        }
    }

    /// The real collaborators, each opened only when a run needs it.
    static func environment(_ options: HookOptions) -> HookEnvironment {
        let enabled = options.selinux == .off ? false : HostPolicy.isEnabled()
        // The caller's own store is found (uid_map, passwd) only by a run
        // that opens one: a pass-through or --no-reserve start reads neither.
        let stateDirectory = { () throws(HookError) -> String in
            if let directory = options.stateDirectory { return directory }
            return try callerStateDirectory()
        }
        return HookEnvironment(
            selinuxEnabled: enabled,
            loadPolicy: { () throws(HookError) in
                try PolicyLoader.load(contextsFile: options.contextsFile, selinuxEnabled: enabled)
            },
            allocator: { () throws(HookError) -> any LevelAllocator in
                if options.noReserve { return RandomLevelAllocator() }
                return StoreAllocator(store: try openStore(stateDirectory()),
                                      inUse: { enabled ? RunningLevels.scan() : [] })
            },
            relabeler: { () throws(HookError) -> any MountRelabeler in
                TreeRelabeler(full: options.fullRelabel, progress: TreeRelabeler.ProgressLog { log.log(.info, $0) })
            },
            release: { () throws(HookError) -> (any ReservationRelease)? in
                guard !options.noReserve, let directory = try? stateDirectory() else { return nil }
                do throws(ReservationError) {
                    return StoreRelease(store: try ReservationStore(directory: directory, create: false))
                } catch where error.kind == .notFound {
                    return nil
                } catch {
                    throw HookError(.reservation, error.description)
                }
            },
            readFile: readFile,
            currentDirectory: currentDirectory(),
            paths: PathFacts(realPath: { try? Files.realPath($0) },
                             persistentSource: { path in
                                 // A source the pipeline's text cannot name exactly is none.
                                 MountTable.persistentSource(of: FilePath(path), in: MountTable.parse(MountTable.readOwn() ?? []))?.string
                             }))
    }

    enum Parsed {
        case run(HookOptions)
        /// --help or --version: print this and exit 0.
        case print(String)
    }

    static func parse(_ words: [String]) throws(HookError) -> Parsed {
        let args: Arguments
        do {
            args = try Arguments(words,
                                 valued: ["--selinux", "--contexts", "--stage", "--bundle", "--state-dir", "--relabel-root",
                                          "--privileged-type", "--relabel-source"],
                                 booleans: ["--require-label", "--no-reserve", "--full-relabel", "--help", "--version"])
        } catch {
            throw HookError(.usage, error.description)
        }
        if args.has("--help") { return .print(help) }
        if args.has("--version") { return .print(Version.line + "\n") }
        if let word = args.positional.first {
            throw HookError(.usage, "unexpected argument \(word) (see --help)")
        }
        var o = HookOptions()
        if let v = args.value("--selinux") {
            guard let mode = HookOptions.SELinuxMode(rawValue: v) else {
                throw HookError(.usage, "--selinux must be auto, on or off, not \(v)")
            }
            o.selinux = mode
        }
        if let v = args.value("--stage") {
            guard let stage = HookStage(rawValue: v) else {
                throw HookError(.usage, "unknown --stage \(v) (precreate, prestart, createRuntime, createContainer, startContainer, poststart, poststop)")
            }
            o.stage = stage
        }
        if let v = args.value("--relabel-root") {
            guard let mode = RelabelMode(option: v) else { throw HookError(.usage, "--relabel-root must be z or Z, not \(v)") }
            o.relabelRoot = mode
        }
        if let v = args.value("--privileged-type") {
            guard SecurityContext(user: "u", role: "r", type: v) != nil else {
                throw HookError(.usage, "--privileged-type must be an SELinux type name, not \(v)")
            }
            o.privilegedType = v
        }
        for (flag, value) in [("--contexts", args.value("--contexts")), ("--bundle", args.value("--bundle")),
                              ("--state-dir", args.value("--state-dir"))] {
            if let value, value.isEmpty { throw HookError(.usage, "\(flag) needs a non-empty value") }
        }
        o.contextsFile = args.value("--contexts")
        o.bundle = args.value("--bundle").map { absolute($0) }
        if let dir = args.value("--state-dir") {
            // gc and poststop judge recorded paths from anywhere: the store must not move with the cwd.
            guard LexicalPath.isAbsolute(dir) else { throw HookError(.usage, "--state-dir must be an absolute path, not \(dir)") }
            o.stateDirectory = dir
        }
        o.sourceRules = try args.all("--relabel-source").map { text throws(HookError) in try SourceRule(parsing: text) }
        o.requireLabel = args.has("--require-label")
        o.noReserve = args.has("--no-reserve")
        o.fullRelabel = args.has("--full-relabel")
        return .run(o)
    }

    static func fail(_ error: HookError) -> ExitCode {
        ProcessInfo.writeError("svirt-hook: \(error.message)")
        log.log(.error, error.message)
        return error.code
    }

    /// HookOptions.defaultStateDirectory(uid:home:) for this process, by
    /// its uid outside any user namespace: rootless podman runs hooks as
    /// uid 0 of the user's namespace, who is the user, not root.
    static func callerStateDirectory() throws(HookError) -> String {
        let uid = UserNamespace.hostUID()
        let home = uid == 0 ? nil : PasswordFile.load().first { $0.uid == uid }?.home
        guard let dir = HookOptions.defaultStateDirectory(uid: uid, home: home) else {
            throw HookError(.reservation, "no reservation store for uid \(uid): it has no home in /etc/passwd to keep one in (pass --state-dir)")
        }
        return dir
    }

    static func openStore(_ directory: String) throws(HookError) -> ReservationStore {
        do {
            return try ReservationStore(directory: directory)
        } catch {
            throw HookError(.reservation, error.description)
        }
    }

    static func readFile(_ path: String) throws(HookError) -> [UInt8] {
        do {
            return try Files.read(path, limit: HookRun.inputLimit)
        } catch where error.errno == .tooBig {
            throw HookError(.badInput, "\(path): larger than \(HookRun.inputLimit >> 20) MiB")
        } catch {
            throw HookError(.io, "read \(error.path ?? path): \(error.errno)")
        }
    }

    static func currentDirectory() -> String? {
        guard let raw = getcwd(nil, 0) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// A relative --bundle is taken against the current directory, so
    /// relative paths inside its config resolve against the bundle.
    static func absolute(_ path: String) -> String {
        if LexicalPath.isAbsolute(path) { return path }
        guard let cwd = currentDirectory() else { return path }
        return cwd == "/" ? "/" + path : cwd + "/" + path
    }
}
