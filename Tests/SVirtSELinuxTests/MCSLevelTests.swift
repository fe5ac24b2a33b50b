import Testing
@testable import SVirtSELinux

@Suite("MCSLevel")
struct MCSLevelTests {
    @Test("levels parse and print in canonical kernel form",
          arguments: [("s0", "s0"), ("s0:c1,c2", "s0:c1,c2"), ("s0:c2,c1", "s0:c1,c2"),
                      ("s0:c0.c3", "s0:c0.c3"), ("s0:c1,c2,c3", "s0:c1.c3"), ("s0:c5,c5,c6", "s0:c5,c6"),
                      ("s0:c0.c1023", "s0:c0.c1023"), ("s0:c1,c3.c5,c9", "s0:c1,c3.c5,c9")])
    func canonical(_ input: String, _ expected: String) {
        #expect(MCSLevel(input)?.description == expected)
    }

    @Test("malformed levels are refused",
          arguments: ["", "c1", "s", "s0:", "s0:c", "s0:c1,", "s0:c1024", "s0:c5.c1", "s0:c1.c2.c3", "s0:c+1", "s0-s0", "x0:c1", "s0:c1;c2"])
    func malformed(_ input: String) {
        #expect(MCSLevel(input) == nil)
    }

    @Test("a number with a leading zero names nothing the policy defines and is refused (found by fuzz-label)",
          arguments: ["s09", "s00", "s0:c01", "s0:c1,c002", "s0:c01.c5", "s0:c1.c05"])
    func leadingZero(_ input: String) {
        #expect(MCSLevel(input) == nil)
        #expect(!SecurityContext.isRange(input))
    }

    @Test("two spellings of one level are equal, so reservations cannot be dodged by rewriting")
    func equalSpellings() {
        #expect(MCSLevel("s0:c3,c1,c2") == MCSLevel("s0:c1.c3"))
    }

    @Test("dominance is superset of categories at equal or higher sensitivity")
    func dominance() {
        let all = MCSLevel("s0:c0.c1023")!
        let pair = MCSLevel("s0:c1,c2")!
        #expect(all.dominates(pair))
        #expect(!pair.dominates(all))
        #expect(pair.dominates(MCSLevel("s0")!))
    }
}
