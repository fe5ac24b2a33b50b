// The policy's lxc_contexts file.
import FuzzSupport
import SVirtSELinux

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let contexts: LXCContexts
    do { contexts = try LXCContexts(parsing: text) } catch {
        require(!error.description.contains("\n"), "error is not one line: \(error)")
        return
    }
    // The file written back from what was read reads the same.
    var lines = ["process = \"\(contexts.process)\"", "file = \"\(contexts.file)\""]
    if let c = contexts.readOnlyFile { lines.append("ro_file = \"\(c)\"") }
    if let c = contexts.content { lines.append("content = \"\(c)\"") }
    let again = try? LXCContexts(parsing: lines.joined(separator: "\n"))
    require(again == contexts, "contexts do not read back from their own file")
    // Each context read is one that stands in the text.
    for context in [contexts.process, contexts.file] {
        require(text.contains(context.description), "context \(context) does not appear in the file")
    }
}

Fuzzer.run(testOneInput)
