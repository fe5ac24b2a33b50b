/// Why a document was rejected, with the byte offset where it went wrong.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

public enum JSON {
    /// Parses a complete RFC 8259 document: one value, surrounded only by
    /// white space. Strings must be valid UTF-8 (a hook must not pass on
    /// bytes the runtime would read differently), and nesting deeper than
    /// `maxDepth` is refused so that hostile input cannot exhaust the stack.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 512) throws(JSONError) -> JSONValue {
        try parse(bytes, maxDepth: maxDepth, recordingLayout: false).value
    }

    static func parse(_ bytes: [UInt8], maxDepth: Int, recordingLayout: Bool) throws(JSONError) -> (value: JSONValue, layout: JSONLayout?) {
        var failure: JSONError?
        let parsed: (JSONValue, JSONLayout.Node?, Range<Int>, Range<Int>)? = bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, maxDepth: maxDepth, recording: recordingLayout)
            do throws(JSONError) {
                return try parser.document()
            } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        let (value, node, leading, trailing) = parsed!
        guard let node else { return (value, nil) }
        return (value, JSONLayout(source: bytes, value: value, root: node, leading: leading, trailing: trailing))
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    /// Whether to record a layout node for every value (parseDocument).
    let recording: Bool
    var index = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, recording: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.recording = recording
    }

    typealias Parsed = (value: JSONValue, node: JSONLayout.Node?)

    mutating func document() throws(JSONError) -> (JSONValue, JSONLayout.Node?, Range<Int>, Range<Int>) {
        let leading = whitespace()
        let (value, node) = try parseValue()
        let trailing = whitespace()
        if index != bytes.count { throw JSONError("unexpected \(describe(bytes[index])) after the document", at: index) }
        return (value, node, leading, trailing)
    }

    /// Skips white space and says where it was.
    mutating func whitespace() -> Range<Int> {
        let start = index
        skipWhitespace()
        return start..<index
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONError) -> Parsed {
        guard index < bytes.count else { throw JSONError("unexpected end of input", at: index) }
        let start = index
        let value: JSONValue
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): value = .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); value = .bool(true)
        case UInt8(ascii: "f"): try literal("false"); value = .bool(false)
        case UInt8(ascii: "n"): try literal("null"); value = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = .number(try parseNumber())
        default: throw JSONError("unexpected \(describe(bytes[index]))", at: index)
        }
        return (value, recording ? .scalar(start..<index) : nil)
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw JSONError("nesting deeper than \(maxDepth) levels", at: index) }
    }

    mutating func parseObject() throws(JSONError) -> Parsed {
        try enter()
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var items: [JSONLayout.Item] = []
        var before = whitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return (.object(JSONObject(members)), container(items, closing: before))
        }
        while true {
            guard index < bytes.count else { throw JSONError("unexpected end of input in an object", at: index) }
            guard bytes[index] == UInt8(ascii: "\"") else { throw JSONError("expected a string key, found \(describe(bytes[index]))", at: index) }
            let keyStart = index
            let key = try parseString()
            let keyEnd = index
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after an object key")
            skipWhitespace()
            let colon = keyEnd..<index
            let (value, node) = try parseValue()
            members.append((key, value))
            let after = whitespace()
            guard index < bytes.count else { throw JSONError("unexpected end of input in an object", at: index) }
            let close = bytes[index] == UInt8(ascii: "}")
            guard close || bytes[index] == UInt8(ascii: ",") else {
                throw JSONError("expected ',' or '}' in an object, found \(describe(bytes[index]))", at: index)
            }
            if let node {
                items.append(JSONLayout.Item(before: before, key: keyStart..<keyEnd, colon: colon, value: node,
                                             after: close ? index..<index : after))
            }
            index += 1
            if close {
                depth -= 1
                return (.object(JSONObject(members)), container(items, closing: after))
            }
            before = whitespace()
        }
    }

    mutating func parseArray() throws(JSONError) -> Parsed {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        var items: [JSONLayout.Item] = []
        var before = whitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return (.array(elements), container(items, closing: before))
        }
        while true {
            let (value, node) = try parseValue()
            elements.append(value)
            let after = whitespace()
            guard index < bytes.count else { throw JSONError("unexpected end of input in an array", at: index) }
            let close = bytes[index] == UInt8(ascii: "]")
            guard close || bytes[index] == UInt8(ascii: ",") else {
                throw JSONError("expected ',' or ']' in an array, found \(describe(bytes[index]))", at: index)
            }
            if let node {
                items.append(JSONLayout.Item(before: before, key: nil, colon: nil, value: node,
                                             after: close ? index..<index : after))
            }
            index += 1
            if close {
                depth -= 1
                return (.array(elements), container(items, closing: after))
            }
            before = whitespace()
        }
    }

    func container(_ items: [JSONLayout.Item], closing: Range<Int>) -> JSONLayout.Node? {
        recording ? .container(JSONLayout.Container(items: items, closing: closing)) : nil
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONError) {
        guard index < bytes.count else { throw JSONError("unexpected end of input, expected \(what)", at: index) }
        guard bytes[index] == byte else { throw JSONError("expected \(what), found \(describe(bytes[index]))", at: index) }
        index += 1
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let start = index
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw JSONError("invalid literal", at: start) }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[start + $0] == expected[$0] }
        }
        guard matches else { throw JSONError("invalid literal", at: start) }
        index += count
    }

    /// Validates the RFC 8259 number grammar and returns the text as is.
    mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw JSONError("invalid number", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw JSONError("invalid number: leading zero", at: start) }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw JSONError("invalid number: no digits after '.'", at: start) }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard isDigit(index) else { throw JSONError("invalid number: no digits in exponent", at: start) }
            while isDigit(index) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    mutating func parseString() throws(JSONError) -> String {
        let start = index
        index += 1
        // Fast path: no escapes, so the bytes between the quotes are the
        // string once they validate as UTF-8.
        var scan = index
        while scan < bytes.count {
            let byte = bytes[scan]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            scan += 1
        }
        if scan < bytes.count && bytes[scan] == UInt8(ascii: "\"") {
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[index..<scan]), as: UTF8.self) else {
                throw JSONError("invalid UTF-8 in a string", at: firstInvalidUTF8(from: index, to: scan))
            }
            index = scan + 1
            return text
        }
        var decoded: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[index..<scan]))
        index = scan
        while true {
            guard index < bytes.count else { throw JSONError("unterminated string", at: start) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: decoded, as: UTF8.self) else {
                    throw JSONError("invalid UTF-8 in a string", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw JSONError("unterminated string", at: start) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): decoded.append(0x22)
                case UInt8(ascii: "\\"): decoded.append(0x5C)
                case UInt8(ascii: "/"): decoded.append(0x2F)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(try unicodeEscape(), to: &decoded)
                default: throw JSONError("invalid escape \\\(describe(escape))", at: index - 2)
                }
            case 0..<0x20:
                throw JSONError("control character in a string", at: index)
            default:
                decoded.append(byte)
                index += 1
            }
        }
    }

    /// The scalar of a `\uXXXX` escape (the `\u` already consumed),
    /// combining surrogate pairs. A lone surrogate becomes U+FFFD, which is
    /// what Go's encoding/json, and so the runtime, reads it as.
    mutating func unicodeEscape() throws(JSONError) -> UInt32 {
        let first = try hex4()
        if (0xD800..<0xDC00).contains(first) {
            if bytes.count - index >= 6 && bytes[index] == UInt8(ascii: "\\") && bytes[index + 1] == UInt8(ascii: "u") {
                let save = index
                index += 2
                let second = try hex4()
                if (0xDC00..<0xE000).contains(second) {
                    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                }
                index = save
            }
            return 0xFFFD
        }
        if (0xDC00..<0xE000).contains(first) { return 0xFFFD }
        return first
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw JSONError("truncated \\u escape", at: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw JSONError("invalid hex digit in \\u escape", at: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: UTF8.encode(unicode)!)
    }

    func firstInvalidUTF8(from start: Int, to end: Int) -> Int {
        var i = start
        while i < end {
            var iterator = UnsafeBufferPointer(rebasing: bytes[i..<end]).makeIterator()
            var decoder = UTF8()
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): i += UTF8.width(s)
            default: return i
            }
        }
        return start
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}
