/// An SELinux security context `user:role:type[:range]`, e.g.
/// `system_u:system_r:container_t:s0:c1,c2`.
///
/// The range is kept as the text it was given (`s0`, `s0:c1,c2`,
/// `s0-s0:c0.c1023`) so that a user's label is printed back exactly; it is
/// checked to be a well-formed MLS level or `low-high` range when parsed.
public struct SecurityContext: Hashable, Sendable, CustomStringConvertible {
    public var user: String
    public var role: String
    public var type: String
    /// The MLS/MCS level or range, nil when the context has none.
    public var range: String?

    /// Builds a context from parts; nil if any part is not a valid name or
    /// the range is not a well-formed level or range.
    public init?(user: String, role: String, type: String, range: String? = nil) {
        guard Self.isName(user), Self.isName(role), Self.isName(type) else { return nil }
        if let range, !Self.isRange(range) { return nil }
        self.user = user
        self.role = role
        self.type = type
        self.range = range
    }

    /// Parses `user:role:type` or `user:role:type:range`; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        self.init(user: String(parts[0]), role: String(parts[1]), type: String(parts[2]),
                  range: parts.count == 4 ? String(parts[3]) : nil)
    }

    public var description: String {
        let base = "\(user):\(role):\(type)"
        guard let range else { return base }
        return "\(base):\(range)"
    }

    /// The low (effective) level of the range as an MCS level, when it parses.
    public var lowLevel: MCSLevel? {
        guard let range else { return nil }
        return MCSLevel(Self.bounds(of: range).low)
    }

    /// The high (clearance) level of the range; the low level when the
    /// range is a single level.
    public var highLevel: MCSLevel? {
        guard let range else { return nil }
        let b = Self.bounds(of: range)
        return MCSLevel(b.high ?? b.low)
    }

    /// The same context with another range.
    public func with(range newRange: String?) -> SecurityContext? {
        SecurityContext(user: user, role: role, type: type, range: newRange)
    }

    /// SELinux identifiers: letters, digits, `_`, `.` and `-` are what policy
    /// languages accept; anything else (spaces, quotes, newlines) is refused
    /// so a label cannot smuggle text into the runtime's config.
    static func isName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x5F || b == 0x2E || b == 0x2D
        }
    }

    /// `level` or `level-level`, each a valid MCS/MLS level.
    public static func isRange(_ text: String) -> Bool {
        let b = bounds(of: text)
        guard MCSLevel(b.low) != nil else { return false }
        if let high = b.high {
            guard let hi = MCSLevel(high), let lo = MCSLevel(b.low), hi.dominates(lo) else { return false }
        }
        return true
    }

    private static func bounds(of range: String) -> (low: Substring, high: Substring?) {
        let parts = range.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        return (parts[0], parts.count == 2 ? parts[1] : nil)
    }
}
