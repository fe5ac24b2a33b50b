import Foundation
import Glibc
import Testing
@_spi(Bench) @testable import SVirtRelabel
import SVirtSystem
import SVirtPaths

/// Builds a tree with one entry of every file type, a symlink pointing out
/// of the tree, and an outside directory beside it.
private func populatedTree(_ scratch: Scratch) throws -> (tree: String, outside: String) {
    let outside = scratch.dir("outside")
    scratch.file("outside/secret")
    scratch.file("outside/sub/deep")
    let tree = scratch.dir("tree")
    scratch.file("tree/file")
    scratch.file("tree/a/b/c/nested")
    scratch.dir("tree/empty")
    scratch.symlink("tree/link-out-file", to: outside + "/secret")
    scratch.symlink("tree/a/link-out-dir", to: outside)
    scratch.symlink("tree/dangling", to: "/nonexistent/x")
    #expect(mkfifo(tree + "/fifo", 0o600) == 0)
    #expect(mknod(tree + "/null", S_IFCHR | 0o600, (1 << 8) | 3) == 0)
    try makeSocket(tree + "/sock")
    return (tree, outside)
}

@Suite("Relabeling real trees (root, ext4 /tmp and tmpfs)", .needsRoot)
struct RelabelTreeTests {
    @Test("every entry of every type gets the label, symlinks themselves, targets outside untouched",
          arguments: [1, 4])
    func labelsEverything(threads: Int) throws {
        let scratch = Scratch()
        let (tree, outside) = try populatedTree(scratch)
        let report = try Relabeler(threads: threads).relabel(tree, to: labelA)
        let paths = allPaths(tree)
        let found = labels(tree, recursive: true)
        for path in paths { #expect(found[path] == labelA, "\(path)") }
        #expect(report.visited == paths.count)
        #expect(report.changed == paths.count)
        #expect(report.warnings.isEmpty)
        #expect(labels(outside, recursive: true).isEmpty)
        #expect(label(scratch.path) == nil)
    }

    @Test("a wide tree asked for 4 threads is walked by 4, each entry labeled once: the run TSan checks")
    func sharedWalk() throws {
        let scratch = Scratch()
        let tree = scratch.dir("wide")
        for d in 0..<40 {
            for f in 0..<25 { scratch.file("wide/d\(d)/f\(f)") }
        }
        let report = try Relabeler(threads: 4).relabel(tree, to: labelA)
        #expect(report.threads == 4)
        #expect(report.visited == 1 + 40 + 40 * 25)
        #expect(report.changed == report.visited)
        let found = labels(tree, recursive: true)
        #expect(found.count == report.visited && found.values.allSatisfy { $0 == labelA })
    }

    @Test("the older-kernel path (/proc/self/fd/DIR/name) labels the same and nothing outside")
    func procPathFallback() throws {
        let scratch = Scratch()
        let (tree, outside) = try populatedTree(scratch)
        var relabeler = Relabeler(threads: 2)
        relabeler.forcedMethod = .procPath
        let report = try relabeler.relabel(tree, to: labelA)
        for path in allPaths(tree) { #expect(label(path) == labelA, "\(path)") }
        #expect(report.changed == allPaths(tree).count)
        #expect(labels(outside, recursive: true).isEmpty)
    }

    @Test("a second run changes nothing and visits the same entries")
    func idempotent() throws {
        let scratch = Scratch()
        let (tree, _) = try populatedTree(scratch)
        let first = try Relabeler().relabel(tree, to: labelA)
        let second = try Relabeler().relabel(tree, to: labelA)
        #expect(first.changed == first.visited)
        #expect(second.changed == 0)
        #expect(second.visited == first.visited)
    }

    @Test("labels written by libselinux (trailing NUL) or go-selinux (none) count as unchanged")
    func trailingNulIgnored() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        let withNul = scratch.file("tree/with-nul")
        let withoutNul = scratch.file("tree/without-nul")
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", "0x" + hex(labelA) + "00", withNul])
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, withoutNul])
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, tree])
        let report = try Relabeler().relabel(tree, to: labelA)
        #expect(report.changed == 0)
        #expect(report.visited == 3)
    }

    @Test("a relabel to another label rewrites a tree labeled before, in both policies")
    func relabelToNewLabel() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for d in 0..<5 { for f in 0..<40 { scratch.file("tree/d\(d)/f\(f)") } }
        _ = try Relabeler().relabel(tree, to: labelA)
        let report = try Relabeler(threads: 2).relabel(tree, to: labelB)
        #expect(report.changed == allPaths(tree).count)
        for path in allPaths(tree) { #expect(label(path) == labelB, "\(path)") }
        let strict = try Relabeler(threads: 2, policy: nil, alwaysReadFirst: true).relabel(tree, to: labelA)
        #expect(strict.changed == allPaths(tree).count)
        for path in allPaths(tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("an interrupted tree (children labeled, root not) is finished without rewriting labeled entries")
    func interruptedTreeFinished() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for f in 0..<100 { scratch.file("tree/d/f\(f)") }
        for f in 0..<50 { try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, tree + "/d/f\(f)"]) }
        let report = try Relabeler(threads: 1).relabel(tree, to: labelA)
        for path in allPaths(tree) { #expect(label(path) == labelA, "\(path)") }
        // The 50 labeled files come first in creation order but getdents order
        // is hash order on ext4: blind writes may touch a few of them, never all.
        #expect(report.changed >= 52)
        #expect(report.changed < 102)
    }

    @Test("a failure leaves no stamp, names the path and errno, and a later run completes")
    func rootLabeledLast() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for f in 0..<20 { scratch.file("tree/sub/f\(f)") }
        let stuck = scratch.file("tree/sub/immutable")
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        #expect {
            _ = try Relabeler(threads: 2).relabel(tree, to: labelA)
        } throws: { error in
            guard let error = error as? RelabelError else { return false }
            return error.path == stuck && error.errno == .permissionDenied && error.description.contains(stuck)
                && error.description.contains("errno \(EPERM)")
        }
        #expect(stamp(tree) == nil)
        try run("/usr/bin/chattr", ["-i", stuck])
        let report = try Relabeler(threads: 2).relabel(tree, to: labelA)
        #expect(stamp(tree)?.hasSuffix(labelA) == true)
        #expect(report.changed >= 1)
        for path in allPaths(tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("a single file (file bind mount) is labeled itself")
    func singleFile() throws {
        let scratch = Scratch()
        let file = scratch.file("config")
        let report = try Relabeler().relabel(file, to: labelA)
        #expect(report == RelabelReport(visited: 1, changed: 1))
        #expect(label(file) == labelA)
        #expect(try Relabeler().relabel(file, to: labelA).changed == 0)
    }

    @Test("a source given through a symlink relabels the target tree, and only it")
    func sourceThroughSymlink() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        scratch.file("tree/f")
        let link = scratch.symlink("link", to: tree)
        _ = try Relabeler().relabel(link, to: labelA)
        #expect(label(tree + "/f") == labelA)
        #expect(label(link) == nil)
    }

    @Test("one large flat directory, labeled in batches by several threads, is labeled completely")
    func flatDirectory() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for f in 0..<3000 { scratch.file("tree/file-with-a-longer-name-\(f)") }
        let report = try Relabeler(threads: 4).relabel(tree, to: labelA)
        #expect(report.visited == 3001)
        #expect(report.changed == 3001)
        let found = labels(tree, recursive: true)
        #expect(found.count == 3001)
        #expect(found.values.allSatisfy { $0 == labelA })
        #expect(try Relabeler(threads: 4).relabel(tree, to: labelA).changed == 0)
    }

    @Test("files vanishing while the walk runs are not errors")
    func vanishingFiles() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for d in 0..<10 { for f in 0..<100 { scratch.file("tree/d\(d)/f\(f)") } }
        let remover = Thread {
            for d in 0..<10 { try? FileManager.default.removeItem(atPath: tree + "/d\(d)") }
        }
        remover.start()
        for round in 0..<5 {
            _ = try Relabeler(threads: 2).relabel(tree, to: round % 2 == 0 ? labelA : labelB)
        }
    }

    @Test("an entry that does not exist (vanished after getdents) is skipped, not failed")
    func vanishedEntry() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        let fd = try FileDescriptor.open(tree, .directory)
        let walk = Walk(root: DirHandle(fd: fd, path: FilePath(tree)), label: FileLabel(labelA), threadLimit: 1,
                        entryChecks: true, mayWriteBlind: true)
        let worker = Worker(walk: walk)
        var policy = WritePolicy(mayWriteBlind: false)
        guard case .unchanged = worker.labelEntry(walk.root, "gone", &policy) else {
            Issue.record("ENOENT was not treated as vanished"); return
        }
        walk.push(DirTask(parent: walk.root, name: Array("gone-dir".utf8CString)))
        #expect(throws: Never.self) { _ = try walk.run() }
    }
}

private func hex(_ text: String) -> String {
    text.utf8.map { String(format: "%02x", $0) }.joined()
}
