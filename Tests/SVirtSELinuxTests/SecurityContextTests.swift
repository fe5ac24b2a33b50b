import Testing
@testable import SVirtSELinux

@Suite("SecurityContext")
struct SecurityContextTests {
    @Test("parses user, role, type and an MCS level that contains a colon and commas")
    func parsesLevel() throws {
        let c = try #require(SecurityContext("system_u:system_r:container_t:s0:c1,c2"))
        #expect(c.user == "system_u")
        #expect(c.role == "system_r")
        #expect(c.type == "container_t")
        #expect(c.range == "s0:c1,c2")
        #expect(c.lowLevel == MCSLevel("s0:c1,c2"))
        #expect(c.description == "system_u:system_r:container_t:s0:c1,c2")
    }

    @Test("a context without a level prints back without one")
    func noLevel() throws {
        let c = try #require(SecurityContext("u:r:t"))
        #expect(c.range == nil)
        #expect(c.description == "u:r:t")
    }

    @Test("a range keeps its text and exposes its high level")
    func range() throws {
        let c = try #require(SecurityContext("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"))
        #expect(c.description == "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")
        #expect(c.lowLevel == MCSLevel("s0"))
        #expect(c.highLevel?.categories.count == 1024)
    }

    @Test("malformed contexts are nil", arguments: [
        "", "a:b", "a::c", ":b:c", "a:b:c:", "a:b:c:x0", "a:b:c:s0:c1024", "a b:r:t",
        "u:r:t:s0:c1,", "u:r:t:s0-", "u:r:t:s0:c5-s0:c1", "u:r:t\n:s0", "u:r:\"t\"",
    ])
    func malformed(text: String) {
        #expect(SecurityContext(text) == nil)
    }

    @Test("with(range:) replaces only the level")
    func withRange() throws {
        let c = try #require(SecurityContext("system_u:object_r:container_file_t:s0"))
        #expect(c.with(range: "s0:c3,c4")?.description == "system_u:object_r:container_file_t:s0:c3,c4")
        #expect(c.with(range: "bogus") == nil)
    }
}

@Suite("HostPolicy.categoryRange")
struct CategoryRangeTests {
    @Test("takes the high level's categories, as libvirt does")
    func highLevel() {
        #expect(HostPolicy.categoryRange(ofContext: "u:r:t:s0-s0:c0.c1023") == .full)
        #expect(HostPolicy.categoryRange(ofContext: "u:r:t:s0-s0:c10.c99") == CategoryRange(lower: 10, upper: 99))
        #expect(HostPolicy.categoryRange(ofContext: "u:r:t:s0:c3,c7") == CategoryRange(lower: 3, upper: 7))
    }

    @Test("a context without categories or without a level gets c0.c1023")
    func noCategories() {
        #expect(HostPolicy.categoryRange(ofContext: "u:r:t:s0") == .full)
        #expect(HostPolicy.categoryRange(ofContext: "u:r:t") == .full)
        #expect(HostPolicy.categoryRange(ofContext: "garbage") == nil)
    }
}

@Suite("CategoryRange text")
struct CategoryRangeTextTests {
    @Test("cA.cB parses and prints back as itself")
    func roundTrip() {
        #expect(CategoryRange("c0.c1023") == .full)
        #expect(CategoryRange("c5.c5")?.description == "c5.c5")
        #expect(CategoryRange("c10.c99") == CategoryRange(lower: 10, upper: 99))
    }

    @Test("anything else is refused, including a category list that reads as a bound",
          arguments: ["", "c1", "c5.c1", "c1,c5.c9", "c1.c5,c9", "s0:c1.c5", "c01.c5", "c1.c1024", "c1.c2.c3"])
    func refused(_ text: String) {
        #expect(CategoryRange(text) == nil)
    }
}
