/// A path as the kernel takes it: bytes without a NUL, not necessarily
/// UTF-8. What realpath, readlink, getdents64 and mountinfo give is kept
/// as it came, so a name that is not UTF-8 still names its file; String
/// would replace such bytes with U+FFFD and name another (or no) file.
///
/// Paths are split and compared as bytes, as the kernel does, and taken
/// apart by their text alone: nothing is asked of the file system.
/// Swift's String works on grapheme clusters and canonical equivalence:
/// "/" followed by a combining mark is one Character, so "/usr/\u{301}x"
/// would neither split at that slash nor have the prefix "/usr/".
public struct FilePath: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let bytes: [UInt8]

    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(stringLiteral: String) { self.init(stringLiteral) }
    public init<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 { self.bytes = Array(bytes) }

    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")
    public static let root = FilePath(bytes: [slash])

    public static func < (a: FilePath, b: FilePath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// The path as text when it is UTF-8 (exactly its bytes), else nil.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// For messages: UTF-8 as it is, any other byte as `\xNN`.
    public var description: String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var out = ""
        var i = 0
        while i < bytes.count {
            // The longest valid UTF-8 sequence here, else one escaped byte.
            var decoded = false
            for length in stride(from: min(4, bytes.count - i), through: 1, by: -1) {
                if let s = String(validating: bytes[i..<(i + length)], as: UTF8.self) {
                    out += s
                    i += length
                    decoded = true
                    break
                }
            }
            if !decoded {
                let hex = String(bytes[i], radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
                i += 1
            }
        }
        return out
    }

    /// The path with a terminating NUL, for a system call.
    public func withCString<R, E: Error>(_ body: (UnsafePointer<CChar>) throws(E) -> R) throws(E) -> R {
        let terminated = bytes + [0]
        let result = terminated.withUnsafeBufferPointer { buffer in
            Result { () throws(E) -> R in
                try body(UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self))
            }
        }
        return try result.get()
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Starts at the root: its first byte is `/`.
    public var isAbsolute: Bool { bytes.first == FilePath.slash }

    /// Its components, without empty ones.
    public var components: [ArraySlice<UInt8>] { bytes.split(separator: FilePath.slash) }

    /// Empty and `.` components dropped and `..` folded (never above `/`);
    /// a leading `/` kept. A relative path that folds away is `.`.
    public var normalized: FilePath {
        var parts: [ArraySlice<UInt8>] = []
        for part in components {
            if part.elementsEqual([FilePath.dot]) { continue }
            if part.elementsEqual([FilePath.dot, FilePath.dot]) {
                if let last = parts.last, !last.elementsEqual([FilePath.dot, FilePath.dot]) {
                    parts.removeLast()
                } else if !isAbsolute {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        var out: [UInt8] = isAbsolute ? [FilePath.slash] : []
        for (i, part) in parts.enumerated() {
            if i > 0 { out.append(FilePath.slash) }
            out += part
        }
        return out.isEmpty ? FilePath(bytes: [FilePath.dot]) : FilePath(bytes: out)
    }

    /// The part below `top` ("" for `top` itself), by whole components of
    /// both normalized; nil when it is not inside `top`.
    public func relative(under top: FilePath) -> FilePath? {
        let path = normalized.bytes, top = top.normalized.bytes
        if path == top { return FilePath(bytes: []) }
        if top == [FilePath.slash] { return path.first == FilePath.slash ? FilePath(bytes: path.dropFirst()) : nil }
        guard path.count > top.count + 1, path.starts(with: top), path[top.count] == FilePath.slash else { return nil }
        return FilePath(bytes: path[(top.count + 1)...])
    }

    /// Whether it is `top` or below it, by whole components.
    public func isInside(_ top: FilePath) -> Bool { relative(under: top) != nil }

    /// `rest` below it, normalized ("/" joined with "a" is "/a").
    public func appending(_ rest: FilePath) -> FilePath {
        FilePath(bytes: bytes + [FilePath.slash] + rest.bytes).normalized
    }

    /// One directory entry's name below it, as read (not normalized: the
    /// name is one component, never "." or "..").
    public func appending(component name: some Collection<UInt8>) -> FilePath {
        FilePath(bytes: bytes + [FilePath.slash] + name)
    }

    /// The directories above it, from the root down ("/a/b" has "/" and
    /// "/a"); none for "/" or a relative path.
    public var ancestors: [FilePath] {
        guard isAbsolute else { return [] }
        var parts = normalized.components
        var result: [FilePath] = []
        while !parts.isEmpty {
            parts.removeLast()
            result.append(FilePath(bytes: [FilePath.slash] + Array(parts.joined(separator: [FilePath.slash]))))
        }
        return result.reversed()
    }
}
