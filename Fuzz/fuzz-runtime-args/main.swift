// The wrapper's reading of a runc/crun command line (NUL-separated words).
import FuzzSupport
import SVirtHook

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    let words = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let invocation = RuntimeInvocation.parse(words)
    if let command = invocation.command { require(words.contains(command), "command \(command) is not a word") }
    if let id = invocation.containerID { require(words.contains(id), "container id \(id) is not a word") }
    for value in [invocation.bundle, invocation.configFile].compactMap({ $0 }) {
        require(words.contains { $0 == value || $0.hasSuffix(value) }, "flag value \(value) is not in a word")
    }
    if invocation.createsContainer {
        require(RuntimeInvocation.creatingCommands.contains(invocation.command!), "creates a container with \(invocation.command!)")
    }
    // Global flags in front change nothing the runtime will do with the bundle.
    let prefixed = RuntimeInvocation.parse(["--root", "/run/x", "--log=/l"] + words)
    require(prefixed.command == invocation.command && prefixed.bundle == invocation.bundle
            && prefixed.configFile == invocation.configFile && prefixed.containerID == invocation.containerID
            && prefixed.asksForHelp == invocation.asksForHelp, "leading global flags changed the reading")
    // (A later --log, even one missing its value, which runc refuses, wins.)
    let namesLog = words.contains { w in ["-log", "--log"].contains { w == $0 || w.hasPrefix($0 + "=") } }
    if !namesLog { require(prefixed.logPath == "/l", "--log=/l in front not read") }
    // The wrapper's own options either take the words or refuse them in one line.
    do {
        let options = try WrapperOptions.parse(words) { _ in nil }
        require(words.suffix(options.runtimeArguments.count).elementsEqual(options.runtimeArguments),
                "runtime arguments are not the words the wrapper left")
    } catch {
        require(!error.description.contains("\n"), "usage error is not one line")
    }
}

Fuzzer.run(testOneInput)
