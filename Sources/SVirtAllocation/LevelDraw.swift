import SVirtSELinux

/// The pure part of choosing a level: uniform two-category pairs from a
/// range, which pairs are never handed out, and the ordered fallback.
public enum LevelDraw {
    /// go-selinux reserves `s0:c1022,c1023` for privileged containers.
    public static let reservedForPrivileged = MCSLevel(sensitivity: 0, categories: [1022, 1023])

    /// Random misses tolerated before falling back to an ordered scan. At
    /// 90 % occupancy 32 misses in a row happen with probability 0.034, and
    /// at the occupancies seen in practice (far below 10 %) never.
    public static let randomAttempts = 32

    /// A uniformly random `s0:cA,cB` with A < B in `range`. Two independent
    /// uniform draws, rejected when equal and then ordered, give every
    /// unordered pair probability 2/n² — uniform. `next` supplies random
    /// 32-bit words.
    public static func randomPair<E: Error>(in range: CategoryRange, next: () throws(E) -> UInt32) throws(E) -> MCSLevel {
        precondition(range.count >= 2)
        while true {
            let a = range.lower + (try uniform(below: range.count, next: next))
            let b = range.lower + (try uniform(below: range.count, next: next))
            if a != b { return MCSLevel(sensitivity: 0, categories: [min(a, b), max(a, b)]) }
        }
    }

    /// Uniform in 0..<bound by rejection, without modulo bias.
    static func uniform<E: Error>(below bound: Int, next: () throws(E) -> UInt32) throws(E) -> Int {
        let n = UInt64(bound)
        let limit = (UInt64(1) << 32) - ((UInt64(1) << 32) % n)
        while true {
            let x = UInt64(try next())
            if x < limit { return Int(x % n) }
        }
    }

    /// Whether the store may hand out `level` as a fresh level.
    public static func isCandidate(_ level: MCSLevel, in range: CategoryRange, inUse: Set<MCSLevel>) -> Bool {
        level.sensitivity == 0 && level.categories.count == 2
            && range.contains(level.categories[0]) && range.contains(level.categories[1])
            && level != reservedForPrivileged && !inUse.contains(level)
    }

    /// Every candidate pair in ascending order, for the exhaustion fallback.
    public static func orderedPairs(in range: CategoryRange) -> some Sequence<MCSLevel> {
        (range.lower...range.upper).lazy.flatMap { a in
            (a + 1 <= range.upper ? Array(a + 1...range.upper) : []).lazy.map { b in
                MCSLevel(sensitivity: 0, categories: [a, b])
            }
        }
    }

    /// How many pairs the range holds, for the exhaustion message.
    public static func pairCount(in range: CategoryRange) -> Int { range.count * (range.count - 1) / 2 }
}
