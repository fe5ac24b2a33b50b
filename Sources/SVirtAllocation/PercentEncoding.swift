/// `%XX` escaping of bytes, upper-case hex, shared by the store's file
/// names (EntryName) and its record lines (KeyRecord); each says which
/// bytes stay as they are.
enum PercentEncoding {
    /// `text` with every byte that `keeps(byte, index)` refuses written as
    /// `%XX`; stops and returns nil once the result would pass `limit`.
    static func encode(_ text: String, limit: Int = .max, keeps: (UInt8, Int) -> Bool) -> String? {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for (i, byte) in text.utf8.enumerated() {
            if keeps(byte, i) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
            if out.count > limit { return nil }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text `encoded` stands for; nil when a `%` is not followed by two
    /// upper-case hex digits, a plain byte is one `allows(byte, decodedSoFar)`
    /// refuses, or the bytes are not UTF-8.
    static func decode(_ encoded: String, allows: (UInt8, Int) -> Bool = { _, _ in true }) -> String? {
        var out: [UInt8] = []
        var bytes = encoded.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte == UInt8(ascii: "%") {
                guard let hi = bytes.next().flatMap(hexValue), let lo = bytes.next().flatMap(hexValue) else { return nil }
                out.append(hi << 4 | lo)
            } else if allows(byte, out.count) {
                out.append(byte)
            } else {
                return nil
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
