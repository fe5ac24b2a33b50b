import SVirtSELinux

/// What `keys/<name>` says: which level a key holds, since when, and the
/// root paths of the containers holding it through that key (several for a
/// pod). Plain text, one `name value` per line, values escaped so that any
/// key or path (newlines included) round-trips:
///
///     svirt-hook reservation 1
///     key io.kubernetes.cri.sandbox-id:4f1c...
///     level s0:c12,c907
///     since 1764381234
///     holder pod default/web
///     root /var/lib/containers/storage/overlay/ab12.../merged
///
/// `holder` says who holds it, for people (`svirt-hook list`): older
/// records lack it, and nothing decides anything by it.
struct KeyRecord: Equatable, Sendable {
    var key: String
    var level: MCSLevel
    /// Seconds since the epoch when the key got this level.
    var since: Int
    var roots: [String]
    var holder: String?

    static let header = "svirt-hook reservation 1"

    var bytes: [UInt8] {
        var text = Self.header + "\n"
        text += "key \(Self.escape(key))\n"
        text += "level \(level)\n"
        text += "since \(since)\n"
        if let holder { text += "holder \(Self.escape(holder))\n" }
        for root in roots { text += "root \(Self.escape(root))\n" }
        return Array(text.utf8)
    }

    enum ParseError: Error, Equatable { case malformed(String) }

    /// Strict on what it needs (header, key, level), tolerant of unknown
    /// lines so that a newer version's records stay readable.
    init(parsing bytes: [UInt8]) throws(ParseError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("not UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first.map(String.init) == Self.header else { throw .malformed("missing header line") }
        guard lines.last == "" else { throw .malformed("truncated (no final newline)") }
        lines.removeLast()
        var key: String?
        var level: MCSLevel?
        var since = 0
        var roots: [String] = []
        var holder: String?
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count == 2 ? String(parts[1]) : ""
            switch parts[0] {
            case "key":
                guard key == nil, let k = Self.unescape(value), !k.isEmpty else { throw .malformed("bad key line") }
                key = k
            case "level":
                guard level == nil, let l = MCSLevel(value) else { throw .malformed("bad level line") }
                level = l
            case "since":
                guard let s = Int(value), s >= 0 else { throw .malformed("bad since line") }
                since = s
            case "root":
                guard let r = Self.unescape(value), !r.isEmpty else { throw .malformed("bad root line") }
                roots.append(r)
            case "holder":
                // Informational: a bad one is dropped, not a corrupt record.
                holder = Self.unescape(value).flatMap { $0.isEmpty ? nil : $0 }
            default:
                continue
            }
        }
        guard let key else { throw .malformed("no key line") }
        guard let level else { throw .malformed("no level line") }
        self.init(key: key, level: level, since: since, roots: roots, holder: holder)
    }

    init(key: String, level: MCSLevel, since: Int, roots: [String], holder: String? = nil) {
        self.key = key
        self.level = level
        self.since = since
        self.roots = roots
        self.holder = holder
    }

    /// Percent-escapes `%`, space, control bytes and DEL: enough to keep a
    /// value on one line and unambiguous.
    static func escape(_ text: String) -> String {
        PercentEncoding.encode(text) { byte, _ in byte > 0x20 && byte != 0x7f && byte != UInt8(ascii: "%") }!
    }

    static func unescape(_ text: String) -> String? {
        PercentEncoding.decode(text)
    }
}

extension KeyRecord {
    /// Adds a root it lacks, and a holder when it names none (the first
    /// start that knows who the container is names it; a kept level is not
    /// renamed by every later start). Whether anything changed, so that an
    /// unchanged record is not rewritten on every start.
    mutating func adding(rootPath: String?, holder: String?) -> Bool {
        var changed = false
        if let rootPath, !roots.contains(rootPath) {
            roots.append(rootPath)
            changed = true
        }
        if self.holder == nil, let holder {
            self.holder = holder
            changed = true
        }
        return changed
    }
}
