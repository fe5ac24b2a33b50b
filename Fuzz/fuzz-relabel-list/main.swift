// io.svirt.relabel: DEST:z,DEST:Z lists.
import FuzzSupport
@testable import SVirtHook
import SVirtPaths

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self),
          let entries = try? Request.parseRelabels(text) else { return }
    require(entries.count == text.split(separator: ",", omittingEmptySubsequences: false).count,
            "\(entries.count) entries from a list of another length")
    for entry in entries {
        require(LexicalPath.isAbsolute(entry.destination), "destination \(entry.destination) is not absolute")
        require(LexicalPath.normalize(entry.destination) == entry.destination, "destination \(entry.destination) not normalized")
    }
    let rendered = entries.map { "\($0.destination):\($0.mode.rawValue)" }.joined(separator: ",")
    guard let again = try? Request.parseRelabels(rendered) else { fatalError("list \(text) renders as \(rendered), which does not parse") }
    require(again.map(\.destination) == entries.map(\.destination) && again.map(\.mode) == entries.map(\.mode),
            "list \(text) renders as \(rendered), which parses to another list")
}

Fuzzer.run(testOneInput)
