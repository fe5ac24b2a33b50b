import Testing
import SVirtPaths

@Suite("LexicalPath: paths by their bytes")
struct LexicalPathTests {
    @Test("normalize drops empty and . parts and folds .., never above /",
          arguments: [("/a//b/", "/a/b"), ("/a/./b", "/a/b"), ("/a/../b", "/b"), ("/../..", "/"), ("/", "/"),
                      ("a/../..", ".."), ("./a", "a"), ("", "."), ("a/..", ".")])
    func normalize(_ input: String, _ expected: String) {
        #expect(LexicalPath.normalize(input) == expected)
    }

    @Test("a slash followed by a combining mark is still a slash (one Character to Swift, two things to the kernel)")
    func combiningMarkAfterSlash() {
        #expect(LexicalPath.normalize("/usr/\u{301}x/../y") == "/usr/y")
        #expect(LexicalPath.isInside("/usr/\u{301}x", "/usr"))
        #expect(LexicalPath.relative("/usr/\u{301}x", under: "/usr") == "\u{301}x")
    }

    @Test("inside is by whole components: /usr2 is not inside /usr; everything absolute is inside /")
    func insideByComponents() {
        #expect(LexicalPath.isInside("/usr/share", "/usr"))
        #expect(LexicalPath.isInside("/usr", "/usr/"))
        #expect(!LexicalPath.isInside("/usr2", "/usr"))
        #expect(LexicalPath.isInside("/anything", "/"))
        #expect(!LexicalPath.isInside("relative", "/"))
        #expect(LexicalPath.relative("/srv/a/b", under: "/srv") == "a/b")
    }

    @Test("absolute takes a relative path against an absolute base only")
    func absolute() {
        #expect(LexicalPath.absolute("rootfs", base: "/run/bundle") == "/run/bundle/rootfs")
        #expect(LexicalPath.absolute("/x/../y", base: nil) == "/y")
        #expect(LexicalPath.absolute("rootfs", base: nil) == nil)
        #expect(LexicalPath.absolute("rootfs", base: "relative") == nil)
    }
}
