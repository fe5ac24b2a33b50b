import Glibc
import SVirtHook

// Dispatch only: each mode lives in its own file. Invoked as `svirt-runc`
// (a symlink), the binary is the runtime wrapper, because engines that let
// you pick only a runtime binary cannot pass it a subcommand.
let argv = CommandLine.arguments
let invokedAs = argv.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "svirt-hook"
let arguments = Array(argv.dropFirst())

let status: ExitCode
if invokedAs == "svirt-runc" {
    status = RuntimeCommand.run(arguments)
} else {
    switch arguments.first {
    case "list", "release", "gc", "reserve":
        status = AdminCommand.run(arguments)
    case "doctor":
        status = DoctorCommand.run(Array(arguments.dropFirst()))
    case "runtime":
        status = RuntimeCommand.run(Array(arguments.dropFirst()))
    case "relabel":
        status = RelabelCommand.run(Array(arguments.dropFirst()))
    default:
        status = HookCommand.run(arguments)
    }
}
exit(status.rawValue)
