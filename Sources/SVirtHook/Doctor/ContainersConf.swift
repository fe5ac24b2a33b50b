/// The one containers.conf / crio.conf setting `doctor` needs: a table's
/// `hooks_dir` array. A TOML subset that is enough for it: `[table]`
/// headers, `key = [ "string", 'string', ... ]` across lines, `#` comments.
/// Anything else is skipped, never misread as hooks_dir.
public enum HooksDirSetting {
    /// The last `hooks_dir` under `[table]` in `text`, or nil when the file
    /// does not set it (a later file only overrides what it sets).
    public static func read(_ text: String, table: String) -> [String]? {
        var current = ""
        var found: [String]?
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        while let raw = lines.next() {
            let line = raw.trimmingWhitespace()
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                if let end = line.firstIndex(of: "]") {
                    current = String(line[line.index(after: line.startIndex)..<end]).trimmingWhitespace()
                }
                continue
            }
            guard current == table, line.hasPrefix("hooks_dir") else { continue }
            var rest = line.dropFirst("hooks_dir".count).trimmingWhitespace()
            guard rest.hasPrefix("=") else { continue }
            rest = String(rest.dropFirst()).trimmingWhitespace()
            guard rest.hasPrefix("[") else { continue }
            // Gather the array's text up to its closing bracket, which may
            // sit lines later; brackets inside strings do not count.
            var body = String(rest.dropFirst())
            while !closes(body), let next = lines.next() { body += "\n" + next }
            found = strings(in: body)
        }
        return found
    }

    private static func closes(_ text: String) -> Bool {
        var quote: Character?
        var comment = false
        for c in text {
            if comment { if c == "\n" { comment = false }; continue }
            if let q = quote { if c == q { quote = nil }; continue }
            switch c {
            case "\"", "'": quote = c
            case "#": comment = true
            case "]": return true
            default: break
            }
        }
        return false
    }

    /// The quoted strings of an array body, until its `]`; comments skipped.
    private static func strings(in body: String) -> [String] {
        var out: [String] = []
        var quote: Character?
        var current = ""
        var comment = false
        for c in body {
            if comment { if c == "\n" { comment = false }; continue }
            if let q = quote {
                if c == q { out.append(current); current = ""; quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" {
                comment = true
            } else if c == "]" {
                break
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
