// config.json and the runtime state: the parser and both writers.
import FuzzSupport
import SVirtJSON

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

/// A small limit, so that the fuzzer reaches it.
let maxDepth = 16

func check(_ bytes: [UInt8]) {
    guard let document = try? JSON.parseDocument(bytes, maxDepth: maxDepth) else { return }
    let value = document.value
    // Accepted means whole: valid UTF-8 throughout, within the depth limit.
    require(String(validating: bytes, as: UTF8.self) != nil, "accepted input that is not UTF-8")
    require(depth(of: value) <= maxDepth, "accepted nesting deeper than \(maxDepth)")
    // The plain parse agrees with the one that records the layout.
    require((try? JSON.parse(bytes, maxDepth: maxDepth)) == value, "parse and parseDocument disagree")
    // An unchanged tree writes back byte for byte over its layout.
    require(JSON.serialize(value, over: document.layout) == bytes, "unchanged tree not written back byte for byte")
    // parse(write(parse(x))) == parse(x), compact and pretty; and writing is
    // a fixed point from then on.
    for pretty in [false, true] {
        let written = JSON.serialize(value, pretty: pretty)
        guard let again = try? JSON.parse(written, maxDepth: maxDepth) else {
            fatalError("written tree does not parse back (pretty: \(pretty))")
        }
        require(again == value, "written tree parses to another tree (pretty: \(pretty))")
        require(JSON.serialize(again, pretty: pretty) == written, "writing is not a fixed point (pretty: \(pretty))")
    }
}

func depth(of value: JSONValue) -> Int {
    switch value {
    case .array(let elements): 1 + (elements.map(depth).max() ?? 0)
    case .object(let object): 1 + (object.members.map { depth(of: $0.value) }.max() ?? 0)
    default: 0
    }
}

Fuzzer.run(testOneInput)
