import Testing
@testable import SVirtJSON

private func parse(_ text: String, maxDepth: Int = 512) throws -> JSONValue {
    try JSON.parse(Array(text.utf8), maxDepth: maxDepth)
}

private func roundTrip(_ text: String) throws -> String {
    String(decoding: JSON.serialize(try parse(text)), as: UTF8.self)
}

@Suite("JSON fidelity")
struct JSONFidelityTests {
    @Test("numbers beyond Double precision and range come back as their exact text",
          arguments: ["18446744073709551615", "-9223372036854775808", "1e400", "0.1", "-0", "1E+2", "123456789012345678901234567890", "0.30000000000000004"])
    func numbersKeepTheirText(_ number: String) throws {
        #expect(try roundTrip("[\(number)]") == "[\(number)]")
    }

    @Test("object members keep their source order, not sorted")
    func keyOrderIsKept() throws {
        let text = #"{"z":1,"a":2,"m":{"y":true,"b":null},"ociVersion":"1.0.2"}"#
        #expect(try roundTrip(text) == text)
    }

    @Test("strings with escapes and non-ASCII decode to the same characters and re-encode losslessly")
    func escapesAndUnicode() throws {
        let value = try parse(#"["tab\there", "quote\"back\\slash", "\u00e9t\u00e9", "日本語", "\ud83d\ude00", "a\/b", "nul\u0000x"]"#)
        let strings = value.arrayValue!.map { $0.stringValue! }
        #expect(strings == ["tab\there", "quote\"back\\slash", "été", "日本語", "😀", "a/b", "nul\u{0}x"])
        #expect(try JSON.parse(JSON.serialize(value)) == value)
    }

    @Test("a lone surrogate escape reads as U+FFFD, as Go's encoding/json reads it")
    func loneSurrogate() throws {
        #expect(try parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test("duplicate keys are all kept in output, and lookups see the last one as Go does")
    func duplicateKeys() throws {
        let value = try parse(#"{"a":1,"a":2}"#)
        #expect(value["a"] == .number("2"))
        #expect(String(decoding: JSON.serialize(value), as: UTF8.self) == #"{"a":1,"a":2}"#)
    }

    @Test("setting a member replaces it in place; a new member goes last; nil removes")
    func objectMutation() throws {
        var object = try parse(#"{"a":1,"b":2}"#).objectValue!
        object["a"] = .string("x")
        object["c"] = .bool(true)
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object["a"] == .string("x"))
    }

    @Test("pretty output parses back to the same tree")
    func prettyRoundTrip() throws {
        let value = try parse(#"{"a":[1,{"b":[]},{}],"c":"d"}"#)
        let pretty = JSON.serialize(value, pretty: true)
        #expect(pretty.contains(0x0A))
        #expect(try JSON.parse(pretty) == value)
    }
}

@Suite("JSON rejects bad input with a located reason")
struct JSONErrorTests {
    @Test("malformed documents are refused",
          arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "1e", "-", "tru", "[1] x", "{\"a\":1,}", "'a'", "\"abc", "\"\\x\"", "\"\\u12\"", "{1:2}", "\u{FEFF}{}"])
    func malformed(_ text: String) {
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test("raw control characters inside strings are refused")
    func controlCharacter() {
        #expect(throws: JSONError.self) { try JSON.parse([0x22, 0x61, 0x0A, 0x22]) }
    }

    @Test("invalid UTF-8 inside a string is refused and located")
    func invalidUTF8() throws {
        let bytes: [UInt8] = Array(#"{"ab":"xy"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = #expect(throws: JSONError.self) { try JSON.parse(bytes) }
        #expect(error?.offset == 9) // `{"ab":"xy` is nine bytes
        #expect(error?.description.contains("UTF-8") == true)
    }

    @Test("invalid UTF-8 after an escape is refused too")
    func invalidUTF8AfterEscape() {
        let bytes: [UInt8] = Array(#""\n"#.utf8) + [0xFF] + [0x22]
        #expect(throws: JSONError.self) { try JSON.parse(bytes) }
    }

    @Test("100,000 nested arrays fail with a depth error instead of overflowing the stack")
    func deepNesting() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000) + [UInt8](repeating: UInt8(ascii: "]"), count: 100_000)
        let error = #expect(throws: JSONError.self) { try JSON.parse(bytes) }
        #expect(error?.message.contains("nesting") == true)
    }

    @Test("nesting exactly at the limit is accepted, one more level is not")
    func depthBoundary() throws {
        let ok = String(repeating: "[", count: 5) + String(repeating: "]", count: 5)
        _ = try parse(ok, maxDepth: 5)
        #expect(throws: JSONError.self) { try parse("[" + ok + "]", maxDepth: 5) }
    }

    @Test("error text is a single line that names the offset")
    func oneLine() {
        let error = #expect(throws: JSONError.self) { try parse("[1,2,}") }
        #expect(error?.description == "invalid JSON at byte 5: unexpected '}'")
    }
}
