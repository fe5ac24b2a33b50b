#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a seeded generator for test inputs and timings (never for
/// levels), so a randomised test can print its seed and be replayed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// SVIRT_TEST_SEED when set, else a fresh one from the clock.
    public static func testSeed() -> UInt64 {
        if let text = getenv("SVIRT_TEST_SEED"), let seed = UInt64(String(cString: text)) { return seed }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_007 &+ UInt64(ts.tv_nsec)
    }
}
