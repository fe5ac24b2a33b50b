/// File names for keys and levels inside the state directory.
///
/// The mapping is injective and can never name anything outside its
/// directory: bytes outside `[A-Za-z0-9_,:+=@-]` become `%XX` (so `/` and
/// `%` itself are always escaped), and `.` is kept only after the first byte,
/// so no name is `.`, `..` or a dot-file (dot-files are this store's
/// temporaries). A name whose escaped form would pass `maxLength` becomes
/// `~` followed by the SHA-256 of the text; `~` is always escaped in the
/// plain form, so the two forms never meet.
public enum EntryName {
    /// Well below NAME_MAX (255) so that temporaries can add a suffix.
    public static let maxLength = 200

    public static func encode(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for (i, byte) in text.utf8.enumerated() {
            if isKept(byte) || (byte == UInt8(ascii: ".") && i > 0) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 15)])
            }
            if out.count > maxLength { return "~" + SHA256.hex(text.utf8) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of a plain (not hashed) name; nil for hashed or malformed names.
    public static func decode(_ name: String) -> String? {
        var out: [UInt8] = []
        var bytes = name.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte == UInt8(ascii: "%") {
                guard let hi = bytes.next().flatMap(hexValue), let lo = bytes.next().flatMap(hexValue) else { return nil }
                out.append(hi << 4 | lo)
            } else if isKept(byte) || (byte == UInt8(ascii: ".") && !out.isEmpty) {
                out.append(byte)
            } else {
                return nil
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func isKept(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "+"),
             UInt8(ascii: "="), UInt8(ascii: "@"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
