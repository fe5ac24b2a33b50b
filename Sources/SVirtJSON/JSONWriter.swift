extension JSON {
    /// Serializes a tree. Numbers are written as the text they were parsed
    /// from and members in their stored order, so an untouched field comes
    /// out as it went in. `pretty` indents with tabs, as `runc spec` does.
    public static func serialize(_ value: JSONValue, pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        writeFresh(value, into: &out, style: pretty ? .tabs : .compact)
        if pretty { out.append(0x0A) }
        return out
    }

    /// How fresh values are laid out: on lines of their own, indented by
    /// `indent` plus `unit` per level, or on one line with `separator` after
    /// each comma.
    struct Style {
        var newline: Bool
        var indent: [UInt8]
        var unit: [UInt8]
        var colon: [UInt8]
        var separator: [UInt8]
        /// LF, or CRLF in a document written with it.
        var lineBreak: [UInt8] = [0x0A]

        static let compact = Style(newline: false, indent: [], unit: [], colon: Array(":".utf8), separator: [])
        /// As `runc spec` writes.
        static let tabs = Style(newline: true, indent: [], unit: [0x09], colon: Array(": ".utf8), separator: [])

        var child: Style {
            var child = self
            if newline { child.indent += unit }
            return child
        }

        /// The white space before a fresh member of a container written in
        /// this style.
        var memberBreak: [UInt8] { newline ? lineBreak + indent + unit : separator }

        /// The white space before a container's closing bracket.
        var closingBreak: [UInt8] { newline ? lineBreak + indent : [] }
    }

    static func writeFresh(_ value: JSONValue, into out: inout [UInt8], style: Style) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if style.newline || i > 0 { out += style.memberBreak }
                writeFresh(element, into: &out, style: style.child)
            }
            out += style.closingBreak
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if style.newline || i > 0 { out += style.memberBreak }
                writeString(member.key, into: &out)
                out += style.colon
                writeFresh(member.value, into: &out, style: style.child)
            }
            out += style.closingBreak
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(0x22)
        for byte in string.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
