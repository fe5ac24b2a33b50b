import Glibc
import Testing
@testable import SVirtRelabel
import SVirtPaths
import SVirtSystem

/// The label of `path` read by its bytes, nil when it has none.
private func label(of path: FilePath) -> String? {
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = path.withCString { name in
        buffer.withUnsafeMutableBytes { try? PathAttributes.get(.selinux, of: name, followingLinks: false, into: $0) }
    }
    guard let n else { return nil }
    return String(decoding: buffer[0..<n].filter { $0 != 0 }, as: UTF8.self)
}

private func makeDirectory(_ path: FilePath) {
    _ = path.withCString { mkdir($0, 0o755) }
}

private func makeFile(_ path: FilePath) {
    let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
    precondition(fd >= 0)
    close(fd)
}

@Suite("Names that are not UTF-8 are kept as bytes", .needsRoot)
struct ByteNameTests {
    @Test("a source whose own path and entries are not UTF-8 is resolved, checked and relabeled whole")
    func nonUTF8SourceIsRelabeled() throws {
        let scratch = Scratch()
        // "v\xff" and "\xfe": no String can name them; U+FFFD would name other files.
        let tree = FilePath(scratch.path).appending(component: [0x76, 0xFF])
        let inner = tree.appending(component: [0xFE])
        makeDirectory(tree)
        makeDirectory(inner)
        makeFile(tree.appending(component: Array("a".utf8)))
        makeFile(inner.appending(component: [0x62, 0x80]))
        let report = try Relabeler(threads: 2).relabel(tree, to: labelA)
        #expect(report.visited == 4)
        #expect(report.changed == 4)
        for path in [tree, inner, tree.appending(component: Array("a".utf8)), inner.appending(component: [0x62, 0x80])] {
            #expect(label(of: path) == labelA, "\(path)")
        }
        #expect(try Relabeler(threads: 2).relabel(tree, to: labelA).changed == 0)
    }

    @Test("a refusal names a non-UTF-8 path with its bytes escaped, not replaced")
    func refusalNamesBytes() throws {
        let scratch = Scratch()
        let tree = FilePath(scratch.path).appending(component: [0x76, 0xFF])
        makeDirectory(tree)
        #expect {
            _ = try Relabeler().relabel(tree, to: labelA, within: FilePath(scratch.path).appending(component: Array("other".utf8)))
        } throws: { error in
            (error as? RelabelError)?.description.contains("/v\\xff refused: is outside") == true
        }
    }
}
