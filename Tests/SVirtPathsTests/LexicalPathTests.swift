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

@Suite("FilePath: bytes as the kernel gives them")
struct FilePathTests {
    @Test("bytes that are not UTF-8 survive normalizing, relative paths and ancestors")
    func nonUTF8Bytes() {
        let path = FilePath(bytes: Array("/srv/".utf8) + [0xFF, 0x2F, 0x2E, 0x2F, 0xFE])  // /srv/\xff/./\xfe
        #expect(path.normalized.bytes == Array("/srv/".utf8) + [0xFF, 0x2F, 0xFE])
        #expect(path.relative(under: "/srv")?.bytes == [0xFF, 0x2F, 0xFE])
        #expect(path.ancestors == ["/", "/srv", FilePath(bytes: Array("/srv/".utf8) + [0xFF])])
        #expect(path.string == nil)
        #expect(FilePath("/srv/x").string == "/srv/x")
    }

    @Test("a message shows valid UTF-8 as it is and each other byte as \\xNN")
    func description() {
        #expect(FilePath(bytes: Array("/é/".utf8) + [0xFF, 0x41, 0x80]).description == "/é/\\xffA\\x80")
        #expect(FilePath("/usr/\u{301}x").description == "/usr/\u{301}x")
    }

    @Test("a C string of a path is its bytes and one NUL")
    func cString() {
        let path = FilePath(bytes: [0x2F, 0xFF])
        let copied = path.withCString { Array(UnsafeBufferPointer(start: $0, count: 3)).map { UInt8(bitPattern: $0) } }
        #expect(copied == [0x2F, 0xFF, 0])
    }
}
