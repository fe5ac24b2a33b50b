import SVirtSELinux

/// Draws a fresh level `s0:cA,cB` (A < B) from a range on every call, with
/// no memory of earlier calls: the allocator behind `--no-reserve`, where
/// uniqueness is left to chance (1 in ~523,000 per pair on c0.c1023) as
/// with go-selinux across podman restarts.
///
/// The draw is the store's (`LevelDraw`: uniform pairs, no modulo bias)
/// from the kernel's CSPRNG. The pair c1022,c1023 is never returned:
/// go-selinux reserves it for privileged containers.
public struct RandomLevelAllocator: LevelAllocator, Sendable {
    /// Supplies uniformly random 32-bit words; injectable for tests.
    public typealias Source = @Sendable () -> UInt32

    private let source: Source?

    /// With no `source`, words come from getrandom(2) via `RandomWords`.
    public init(source: Source? = nil) {
        self.source = source
    }

    public struct Exhausted: Error, CustomStringConvertible {
        public let description: String
    }

    public func level(for key: ContainerKey?, range: CategoryRange) throws -> MCSLevel {
        let reservedPair = range.contains(1022) && range.contains(1023) ? 1 : 0
        guard LevelDraw.pairCount(in: range) - reservedPair > 0 else {
            throw Exhausted(description: "category range \(range) holds no two-category level to hand out")
        }
        var words = RandomWords()
        while true {
            let level = LevelDraw.randomPair(in: range) { source?() ?? words.next() }
            if LevelDraw.isCandidate(level, in: range, inUse: []) { return level }
        }
    }

    /// Nothing to record: this allocator keeps no state.
    public func claim(_ level: MCSLevel, for key: ContainerKey) throws -> String? { nil }
}
