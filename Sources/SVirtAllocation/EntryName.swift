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
        PercentEncoding.encode(text, limit: maxLength, keeps: isKept) ?? "~" + SHA256.hex(text.utf8)
    }

    /// The text of a plain (not hashed) name; nil for hashed or malformed names.
    public static func decode(_ name: String) -> String? {
        PercentEncoding.decode(name, allows: isKept)
    }

    /// `.` only after the first byte: no `.`, `..` or dot-file.
    private static func isKept(_ byte: UInt8, at index: Int) -> Bool {
        isKept(byte) || (byte == UInt8(ascii: ".") && index > 0)
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
}
