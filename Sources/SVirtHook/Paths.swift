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

    /// `path` made absolute against `base` (itself absolute), or nil when
    /// it is relative and there is no base.
    static func absolute(_ path: String, base: String?) -> String? {
        if path.hasPrefix("/") { return normalize(path) }
        guard let base, base.hasPrefix("/") else { return nil }
        return normalize(base + "/" + path)
    }
}
