/// Lexical path handling for paths taken from a config. Nothing here
/// touches the file system: symlinks are the relabeler's business, which
/// resolves the source itself before refusing system paths.
enum Paths {
    /// Removes empty and `.` components and folds `..`; keeps a leading `/`.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Whether normalized `path` is `top` or below it, by whole components
    /// and bytes (canonically equivalent spellings are other paths to the
    /// kernel).
    static func isInside(_ path: String, _ top: String) -> Bool {
        let p = Array(path.utf8), t = Array(top.utf8)
        if p == t || t == [UInt8(ascii: "/")] { return true }
        return p.count > t.count && p.starts(with: t) && p[t.count] == UInt8(ascii: "/")
    }

    /// `path` made absolute against `base` (itself absolute), or nil when
    /// it is relative and there is no base.
    static func absolute(_ path: String, base: String?) -> String? {
        if path.hasPrefix("/") { return normalize(path) }
        guard let base, base.hasPrefix("/") else { return nil }
        return normalize(base + "/" + path)
    }
}
