import Testing
@testable import SVirtSystem

@Suite("UserNamespace")
struct UserNamespaceTests {
    @Test("the initial namespace maps every uid to itself")
    func identity() {
        let map = "         0          0 4294967295\n"
        #expect(UserNamespace.outerUID(of: 0, uidMap: map) == 0)
        #expect(UserNamespace.outerUID(of: 1000, uidMap: map) == 1000)
    }

    @Test("rootless podman's namespace: uid 0 is the user, the rest their subordinate range")
    func rootless() {
        let map = "         0       1000          1\n         1     100000      65536\n"
        #expect(UserNamespace.outerUID(of: 0, uidMap: map) == 1000)
        #expect(UserNamespace.outerUID(of: 1, uidMap: map) == 100000)
        #expect(UserNamespace.outerUID(of: 65536, uidMap: map) == 165535)
        #expect(UserNamespace.outerUID(of: 65537, uidMap: map) == nil)
    }

    @Test("malformed lines are skipped; an unmapped uid is nil")
    func malformed() {
        #expect(UserNamespace.outerUID(of: 0, uidMap: "") == nil)
        #expect(UserNamespace.outerUID(of: 0, uidMap: "garbage\n0 x 1\n0 1000\n5 2000 1\n") == nil)
        #expect(UserNamespace.outerUID(of: 5, uidMap: "garbage\n5 2000 1\n") == 2000)
    }
}
