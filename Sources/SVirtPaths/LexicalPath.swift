/// FilePath's rules for paths held as text: those of config.json, which
/// JSON can only carry as Unicode, so their bytes are exactly their UTF-8.
/// Splitting at `/` keeps valid UTF-8 valid, so nothing here is lossy.
/// Paths read from the kernel are FilePath from the start.
public enum LexicalPath {
    /// Whether `path` starts at the root: its first byte is `/` (a `/`
    /// followed by a combining mark is one Character, and String.hasPrefix
    /// would say no).
    public static func isAbsolute(_ path: String) -> Bool {
        path.utf8.first == FilePath.slash
    }

    /// FilePath.normalized.
    public static func normalize(_ path: String) -> String {
        FilePath(path).normalized.description
    }

    /// `path` made absolute against `base` (itself absolute), normalized;
    /// nil when it is relative and there is no absolute base.
    public static func absolute(_ path: String, base: String?) -> String? {
        if isAbsolute(path) { return normalize(path) }
        guard let base, isAbsolute(base) else { return nil }
        return normalize(base + "/" + path)
    }

    /// FilePath.relative(under:).
    public static func relative(_ path: String, under top: String) -> String? {
        FilePath(path).relative(under: FilePath(top))?.description
    }

    /// Whether `path` is `top` or below it, by whole components.
    public static func isInside(_ path: String, _ top: String) -> Bool {
        FilePath(path).isInside(FilePath(top))
    }
}
