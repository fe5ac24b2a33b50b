import Foundation
import Glibc
import Testing
@testable import SVirtRelabel

@Suite("Completion mark: the root carries the label and a stamp only after a whole walk", .needsRoot)
struct CompletionTests {
    @Test("a tree is complete after a relabel to that label, and not for another label")
    func completeAfterRelabel() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        scratch.file("tree/a/file")
        let relabeler = Relabeler()
        #expect(!relabeler.isComplete(tree, label: labelA))
        _ = try relabeler.relabel(tree, to: labelA)
        #expect(relabeler.isComplete(tree, label: labelA))
        #expect(!relabeler.isComplete(tree, label: labelB))
    }

    @Test("a label on the root written by libselinux (trailing NUL) counts as complete")
    func trailingNul() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        _ = try Relabeler().relabel(tree, to: labelA)
        // setfattr's 0x form writes the exact bytes: the label and a NUL, as chcon does.
        let hex = "0x" + (Array(labelA.utf8) + [0]).map { String(format: "%02x", $0) }.joined()
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", hex, tree])
        #expect(try run("/usr/bin/getfattr", ["-h", "-e", "hex", "-n", "security.selinux", tree]).contains(hex.dropFirst(2)))
        #expect(Relabeler().isComplete(tree, label: labelA))
    }

    @Test("a root labeled by hand, without the stamp of a finished walk, is not complete")
    func labelWithoutStamp() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, tree])
        #expect(!Relabeler().isComplete(tree, label: labelA))
    }

    @Test("a missing path is not complete")
    func missing() {
        #expect(!Relabeler().isComplete("/nonexistent/svirt/tree", label: labelA))
    }
}
