import Glibc
import SVirtHook
import SVirtSystem

/// `svirt-hook runtime ...` and `svirt-runc ...`: a stand-in for runc for
/// engines that let you choose only the runtime binary. On `create`/`run`/`restore`
/// it labels the bundle's config.json in place (the hook in bundle mode, in
/// this process), then execs the real runtime with the arguments unchanged;
/// every other command is exec'd at once. After the exec the engine talks to
/// the real runtime directly, so exit codes, stdio, signals and the pid-file
/// are the runtime's own.
enum RuntimeCommand {
    static func run(_ arguments: [String]) -> ExitCode {
        let options: WrapperOptions
        do {
            options = try WrapperOptions.parse(arguments, environment: ProcessInfo.environment)
        } catch {
            return fail(error.description, status: .usage, invocation: RuntimeInvocation.parse(error.runtimeArguments))
        }
        let invocation = RuntimeInvocation.parse(options.runtimeArguments)

        // Find the runtime before labeling: a create that cannot run must not
        // leave a labeled config and a reserved level behind.
        guard let runtime = findRuntime(options.runtime) else {
            let wanted = options.runtime ?? WrapperOptions.defaultRuntimes.joined(separator: " or ")
            return fail("cannot find the real runtime (\(wanted)); set \(WrapperOptions.runtimeEnvironment) or --runtime",
                        status: .runtimeExec, invocation: invocation)
        }

        if invocation.createsContainer, let refusal = labelBundle(invocation, hookFlags: options.hookFlags) {
            return fail(refusal.message, status: refusal.code, invocation: invocation)
        }
        return exec(runtime, options.runtimeArguments, invocation: invocation)
    }

    /// Labels BUNDLE/config.json with the pipeline, in this process: its
    /// error comes back as a value, folded into the one line the engine
    /// shows. nil when the runtime may go on.
    private static func labelBundle(_ invocation: RuntimeInvocation, hookFlags: [String]) -> HookError? {
        let bundle = invocation.bundleDirectory
        let id = invocation.containerID.map { " \($0)" } ?? ""
        // crun's --config names the file it builds the container from;
        // the hook labels only BUNDLE/config.json, so any other file
        // would run unlabeled: refuse rather than run it. Both paths are
        // resolved from the working directory, as crun resolves them.
        if let config = invocation.configFile {
            let labeled = try? Files.realPath(bundle + "/config.json")
            guard let labeled, (try? Files.realPath(config)) == labeled else {
                return HookError(.usage, "not creating container\(id): --config \(config) is not \(bundle)/config.json, the only file svirt-runc labels")
            }
        }
        do throws(HookError) {
            guard case .run(let hookOptions) = try HookCommand.parse(["--bundle", bundle] + hookFlags) else {
                throw HookError(.usage, "--help and --version are not hook flags for the wrapper")
            }
            HookCommand.report(notices: try HookCommand.execute(hookOptions))
            return nil
        } catch {
            return HookError(error.code, "not creating container\(id): labeling \(bundle)/config.json failed: \(error.message)")
        }
    }

    /// Becomes the real runtime with the engine's arguments unchanged;
    /// returns only when it could not.
    private static func exec(_ runtime: String, _ arguments: [String], invocation: RuntimeInvocation) -> ExitCode {
        let reason = ProcessInfo.execute(runtime, arguments)
        return fail("cannot exec \(runtime): \(reason)", status: .runtimeExec, invocation: invocation)
    }

    /// The first executable candidate that is not this very binary (a
    /// `runc` symlink to svirt-runc on PATH would otherwise exec itself forever).
    private static func findRuntime(_ requested: String?) -> String? {
        let own = try? Files.realPath("/proc/self/exe")
        for candidate in WrapperOptions.candidatePaths(runtime: requested, searchPath: ProcessInfo.environment("PATH")) {
            guard Files.isExecutableFile(candidate) else { continue }
            if let own, (try? Files.realPath(candidate)) == own { continue }
            return candidate
        }
        return nil
    }

    /// One line on stderr, the same line in the runtime's `--log` file (where
    /// engines look for the reason), and syslog, then `status`.
    private static func fail(_ message: String, status: ExitCode, invocation: RuntimeInvocation) -> ExitCode {
        ProcessInfo.writeError("svirt-runc: \(message)")
        SystemLog(identifier: "svirt-runc").log(.error, message)
        if let path = invocation.logPath {
            let line = RuntimeLogLine.error("svirt-runc: \(message)", format: invocation.logFormat, time: ProcessInfo.utcTimestamp())
            if let fd = try? FileDescriptor.open(path, [.writeOnly, .append, .create], mode: 0o644) {
                _ = try? fd.writeAll(Array(line.utf8))
                fd.close()
            }
        }
        return status
    }

}
