import Testing
import TestSupport
import SVirtSELinux

@Suite("LevelDraw")
struct LevelDrawTests {
    @Test("random pairs are ordered, inside the range, and uniform over the pairs")
    func uniformPairs() throws {
        let range = CategoryRange(lower: 10, upper: 13) // 6 pairs
        // Seeded, and the seed printed, so a failing draw can be replayed
        // (SVIRT_TEST_SEED=N); the uniformity bound holds for any seed.
        let seed = SplitMix.testSeed()
        print("LevelDraw uniformPairs seed: \(seed) (replay with SVIRT_TEST_SEED=\(seed))")
        var rng = SplitMix(seed: seed)
        var counts: [MCSLevel: Int] = [:]
        let draws = 60_000
        for _ in 0..<draws {
            let level = LevelDraw.randomPair(in: range) { UInt32(truncatingIfNeeded: rng.next()) }
            #expect(level.categories.count == 2 && level.categories[0] < level.categories[1])
            #expect(range.contains(level.categories[0]) && range.contains(level.categories[1]))
            counts[level, default: 0] += 1
        }
        #expect(counts.count == LevelDraw.pairCount(in: range))
        let expected = Double(draws) / Double(LevelDraw.pairCount(in: range))
        for (level, count) in counts {
            // Standard deviation is about 91 here; 5 % is over five of them.
            #expect(abs(Double(count) - expected) < expected * 0.05, "\(level) drawn \(count) times")
        }
    }

    @Test("values that would bias the modulo are rejected, not folded")
    func noModuloBias() {
        // 2^32 mod 3 == 1, so UInt32.max is the one value to reject for bound 3.
        var words: [UInt32] = [UInt32.max, 5]
        var calls = 0
        let value = LevelDraw.uniform(below: 3) { () -> UInt32 in calls += 1; return words.removeFirst() }
        #expect(value == 5 % 3)
        #expect(calls == 2)
    }

    @Test("c1022,c1023 and levels in use are never candidates; other pairs in range are")
    func candidates() throws {
        let full = CategoryRange.full
        #expect(!LevelDraw.isCandidate(try #require(MCSLevel("s0:c1022,c1023")), in: full, inUse: []))
        #expect(LevelDraw.isCandidate(try #require(MCSLevel("s0:c1021,c1023")), in: full, inUse: []))
        let used = try #require(MCSLevel("s0:c4,c5"))
        #expect(!LevelDraw.isCandidate(used, in: full, inUse: [used]))
        #expect(!LevelDraw.isCandidate(try #require(MCSLevel("s0:c4,c5")), in: CategoryRange(lower: 5, upper: 9), inUse: []))
        #expect(!LevelDraw.isCandidate(try #require(MCSLevel("s0:c1,c2,c3")), in: full, inUse: []))
        #expect(Array(LevelDraw.orderedPairs(in: CategoryRange(lower: 0, upper: 2))).map(\.description)
            == ["s0:c0,c1", "s0:c0,c2", "s0:c1,c2"])
    }
}
