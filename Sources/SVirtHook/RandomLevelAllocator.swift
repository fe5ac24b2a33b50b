import SVirtSELinux

/// Draws a fresh level `s0:cA,cB` (A < B) from a range on every call, with
/// no memory of earlier calls: the allocator behind `--no-reserve`, where
/// uniqueness is left to chance (1 in ~523,000 per pair on c0.c1023) as
/// with go-selinux across podman restarts.
///
/// Randomness comes from getrandom(2) (the kernel's CSPRNG, through the
/// standard library's SystemRandomNumberGenerator) and is reduced
/// to a category by rejection sampling, so every category is equally
/// likely (no modulo bias). The pair c1022,c1023 is never returned:
/// go-selinux reserves it for privileged containers.
public struct RandomLevelAllocator: LevelAllocator, Sendable {
    public typealias Source = @Sendable (UnsafeMutableRawBufferPointer) throws -> Void

    private let source: Source

    /// `source` fills a buffer with random bytes; the default is getrandom(2).
    public init(source: @escaping Source = RandomLevelAllocator.getrandomSource) {
        self.source = source
    }

    public struct Exhausted: Error, CustomStringConvertible {
        public let description: String
    }

    public func level(for key: ContainerKey, range: CategoryRange) throws -> MCSLevel {
        let reservedPair = range.contains(1022) && range.contains(1023) ? 1 : 0
        // Pairs available = C(n, 2) minus the reserved one.
        guard range.count * (range.count - 1) / 2 - reservedPair > 0 else {
            throw Exhausted(description: "category range \(range) holds no two-category level to hand out")
        }
        var pool = RandomPool(source: source)
        while true {
            let a = range.lower + Int(try pool.uniform(below: UInt32(range.count)))
            let b = range.lower + Int(try pool.uniform(below: UInt32(range.count)))
            if a == b { continue }
            let (lo, hi) = a < b ? (a, b) : (b, a)
            if lo == 1022 && hi == 1023 { continue }
            return MCSLevel(sensitivity: 0, categories: [lo, hi])
        }
    }

    /// Nothing to record: this allocator keeps no state.
    public func claim(_ level: MCSLevel, for key: ContainerKey) throws {}

    /// The standard library's SystemRandomNumberGenerator, which on Linux
    /// reads getrandom(2), the kernel's CSPRNG (it blocks only until the
    /// pool is first seeded at boot).
    public static let getrandomSource: Source = { buffer in
        var generator = SystemRandomNumberGenerator()
        var offset = 0
        while offset < buffer.count {
            var word = generator.next()
            let n = min(8, buffer.count - offset)
            withUnsafeBytes(of: &word) { buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
            offset += n
        }
    }
}

/// 32-bit draws from a source, fetched two at a time: a level usually
/// needs two, and SystemRandomNumberGenerator makes one getrandom(2) call
/// per 8 bytes.
struct RandomPool {
    let source: RandomLevelAllocator.Source
    private var words: [UInt32] = []

    init(source: @escaping RandomLevelAllocator.Source) {
        self.source = source
    }

    mutating func next() throws -> UInt32 {
        if words.isEmpty {
            var fresh = [UInt32](repeating: 0, count: 2)
            try fresh.withUnsafeMutableBytes { try source($0) }
            words = fresh
        }
        return words.removeLast()
    }

    /// Uniform in 0..<bound: values below 2^32 mod bound are redrawn, so
    /// each residue comes from the same number of raw values.
    mutating func uniform(below bound: UInt32) throws -> UInt32 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let r = try next()
            if r >= threshold { return r % bound }
        }
    }
}
