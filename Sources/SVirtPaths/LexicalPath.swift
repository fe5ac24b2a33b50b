/// Paths taken apart by their text alone, nothing asked of the file system
/// (symlinks are the relabeler's business: it resolves a source itself
/// before judging it). One set of rules for the pipeline and the relabeler.
///
/// Paths are split and compared as bytes, as the kernel does. Swift's
/// String works on grapheme clusters and canonical equivalence: "/"
/// followed by a combining mark is one Character, so "/usr/\u{301}x" would
/// neither split at that slash nor have the prefix "/usr/".
public enum LexicalPath {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// Whether `path` starts at the root: its first byte is `/` (a `/`
    /// followed by a combining mark is one Character, and String.hasPrefix
    /// would say no).
    public static func isAbsolute(_ path: String) -> Bool {
        path.utf8.first == slash
    }

    /// Drops empty and `.` components and folds `..` (never above `/`);
    /// keeps a leading `/`. A relative path that folds away is `.`.
    public static func normalize(_ path: String) -> String {
        let absolute = path.utf8.first == slash
        var parts: [ArraySlice<UInt8>] = []
        for part in Array(path.utf8).split(separator: slash) {
            if part.elementsEqual([dot]) { continue }
            if part.elementsEqual([dot, dot]) {
                if let last = parts.last, !last.elementsEqual([dot, dot]) {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        var bytes: [UInt8] = absolute ? [slash] : []
        for (i, part) in parts.enumerated() {
            if i > 0 { bytes.append(slash) }
            bytes += part
        }
        if bytes.isEmpty { return "." }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `path` made absolute against `base` (itself absolute), normalized;
    /// nil when it is relative and there is no absolute base.
    public static func absolute(_ path: String, base: String?) -> String? {
        if path.utf8.first == slash { return normalize(path) }
        guard let base, base.utf8.first == slash else { return nil }
        return normalize(base + "/" + path)
    }

    /// The part of `path` below `top` ("" for `top` itself), by whole
    /// components of both normalized; nil when `path` is not inside `top`.
    public static func relative(_ path: String, under top: String) -> String? {
        let path = Array(normalize(path).utf8), top = Array(normalize(top).utf8)
        if path == top { return "" }
        if top == [slash] { return path.first == slash ? String(decoding: path.dropFirst(), as: UTF8.self) : nil }
        guard path.count > top.count + 1, path.starts(with: top), path[top.count] == slash else { return nil }
        return String(decoding: path[(top.count + 1)...], as: UTF8.self)
    }

    /// Whether `path` is `top` or below it, by whole components.
    public static func isInside(_ path: String, _ top: String) -> Bool {
        relative(path, under: top) != nil
    }
}
