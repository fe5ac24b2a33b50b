import Foundation
import Glibc
import Synchronization
import Testing
@testable import SVirtRelabel
import SVirtSystem

@Suite("TreeStamp coding: only what this version writes is trusted")
struct TreeStampCodingTests {
    let label = FileLabel(labelA)

    @Test("encode and decode round-trip, nanoseconds padded to nine digits")
    func roundTrip() {
        let stamp = TreeStamp(label: label, since: .init(seconds: 1_795_928_175, nanoseconds: 5))
        #expect(String(decoding: stamp.encoded, as: UTF8.self) == "1 1795928175.000000005 \(labelA)")
        #expect(TreeStamp.decode(stamp.encoded) == stamp)
    }

    @Test("a walk's stamp lies the slack before its start")
    func slack() {
        let stamp = TreeStamp.forWalk(startingAt: .init(seconds: 1000, nanoseconds: 7), label: label)
        #expect(stamp.since == .init(seconds: 1000 - TreeStamp.slackSeconds, nanoseconds: 7))
    }

    @Test("malformed stamps decode to nil", arguments: [
        "", "1", "1 5.000000000", "2 5.000000000 \(labelA)", "1 5.00000000 \(labelA)", "1 5.0000000000 \(labelA)",
        "1 -5.000000000 \(labelA)", "1 5 \(labelA)", "1 x.000000000 \(labelA)", "1 5.000000000 ",
        "1 5.000000000 \(labelA) extra", "1  5.000000000 \(labelA)", "1 9999999999999999999.000000000 \(labelA)",
    ])
    func malformed(_ text: String) {
        #expect(TreeStamp.decode(Array(text.utf8)) == nil)
    }

    @Test("a NUL inside the label is not ours")
    func nulInLabel() {
        #expect(TreeStamp.decode(Array("1 5.000000000 a".utf8) + [0]) == nil)
    }

    @Test("trusted only for its own label and when not from the future")
    func trust() {
        let stamp = TreeStamp(label: label, since: .init(seconds: 100, nanoseconds: 0))
        #expect(stamp.trusted(for: label, now: .init(seconds: 100, nanoseconds: 0)))
        #expect(!stamp.trusted(for: FileLabel(labelB), now: .init(seconds: 200, nanoseconds: 0)))
        #expect(!stamp.trusted(for: label, now: .init(seconds: 99, nanoseconds: 999_999_999)))
        // A label read back with libselinux's trailing NUL is the same label.
        #expect(stamp.trusted(for: FileLabel(labelA + "\0"), now: .init(seconds: 100, nanoseconds: 0)))
    }
}

/// A tree of 4 directories and 14 files, relabeled once to labelA, whose
/// stamp is then renewed after that walk's writes, as a read-only repeat
/// renews it: a volume as it looks at the next container start when
/// nothing in it changed since the last one.
private struct StampedTree {
    let scratch = Scratch()
    let tree: String
    let files: [String]
    let directories: [String]

    init() throws {
        tree = scratch.dir("tree")
        var files = [scratch.file("tree/top")]
        for f in 0..<5 { files.append(scratch.file("tree/a/f\(f)")) }
        for f in 0..<5 { files.append(scratch.file("tree/b/f\(f)")) }
        for f in 0..<3 { files.append(scratch.file("tree/b/c/f\(f)")) }
        self.files = files
        directories = [tree, tree + "/a", tree + "/b", tree + "/b/c"]
        let first = try Relabeler(threads: 2).relabel(tree, to: labelA)
        precondition(first.changed == 18 && first.unread == 0)
        try renewStamp()
    }

    /// Stamps the tree as of now, later than every change made so far
    /// (the kernel's coarse file times never run ahead of the clock): what
    /// changed before is invisible to the stamp, so only what the stamp
    /// cannot vouch for is left to be found.
    func renewStamp() throws {
        let stamp = TreeStamp(label: FileLabel(labelA), since: preciseNow())
        try run("/usr/bin/setfattr", ["-n", TreeStamp.xattrName, "-v", String(decoding: stamp.encoded, as: UTF8.self), tree])
        // A change made next must get a later ctime, which comes from the
        // kernel's coarse clock (up to a tick behind): wait until it is past.
        try waitForCoarseClock(after: stamp.since)
    }

    func setLabel(_ label: String, _ paths: [String]) throws {
        for path in paths { try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", label, path]) }
    }

    func stamp() -> String? { SVirtRelabelTests.stamp(tree) }
}

@Suite("Repeat relabels trust the files of directories unchanged since the tree's stamp", .needsRoot)
struct StampedRepeatTests {
    @Test("a finished relabel stamps the root; a repeat reads every directory but no file of an unchanged one")
    func repeatReadsDirectoriesOnly() throws {
        let t = try StampedTree()
        let stamp = try #require(t.stamp())
        #expect(stamp.hasPrefix("1 ") && stamp.hasSuffix(" " + labelA))
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(report == RelabelReport(visited: 5, changed: 0, unread: 13)) // the root's entries are always read
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("the stamp's time is the walk's start less the slack")
    func stampTime() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        scratch.file("tree/d/f")
        let before = Int64(time(nil))
        _ = try Relabeler(threads: 2).relabel(tree, to: labelA)
        let text = try #require(stamp(tree))
        let decoded = try #require(TreeStamp.decode(Array(text.utf8)))
        #expect(decoded.since.seconds >= before - TreeStamp.slackSeconds - 1)
        #expect(decoded.since.seconds <= Int64(time(nil)) - TreeStamp.slackSeconds)
    }

    @Test("a file moved in keeps its old label through rename; its directory's mtime gets it relabeled")
    func movedInFileIsFound() throws {
        let t = try StampedTree()
        let outside = t.scratch.file("outside")
        try t.setLabel(labelB, [outside])
        let moved = t.tree + "/b/c/moved"
        #expect(rename(outside, moved) == 0)
        #expect(label(moved) == labelB)
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(moved) == labelA)
        #expect(report.changed == 1)
        #expect(report.unread == 10) // a/*, b/*: their directories did not change
    }

    @Test("a subtree relabeled by someone else shows on its directory's label and is read in full, old mtimes or not")
    func foreignRecursiveRelabel() throws {
        let t = try StampedTree()
        let subtree = [t.tree + "/b", t.tree + "/b/c"] + t.files.filter { $0.contains("/b/") }
        try t.setLabel(labelB, subtree)
        try t.renewStamp() // only the directory's label can tell
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
        #expect(report.changed == subtree.count)
        #expect(report.unread == 5) // a/*
    }

    @Test("trade-off: a hand-made label on one file of an unchanged directory is left; --full-relabel reads it")
    func singleFileChangeNeedsFull() throws {
        let t = try StampedTree()
        let file = t.tree + "/a/f0"
        try t.setLabel(labelB, [file])
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(file) == labelB)
        var full = Relabeler(threads: 2)
        full.full = true
        let report = try full.relabel(t.tree, to: labelA)
        #expect(label(file) == labelA)
        #expect(report == RelabelReport(visited: 18, changed: 1, unread: 0))
    }

    @Test("a file added to a directory whose mtime is then set back (cp -a, rsync -a, tar x) is relabeled: ctime tells")
    func mtimeSetBackIsFound() throws {
        let t = try StampedTree()
        let added = t.scratch.file("tree/b/c/added")
        try t.setLabel(labelB, [added])
        try run("/usr/bin/touch", ["-m", "-d", "1 hour ago", t.tree + "/b/c"])
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(added) == labelA)
        #expect(report.changed == 1)
    }

    @Test("a backup restored with tar x --xattrs, which puts back the old labels and the directory's old times, is relabeled")
    func tarRestoreIsFound() throws {
        let t = try StampedTree()
        let backup = t.scratch.dir("backup")
        let restored = ["f0", "new"].map { t.scratch.file("backup/\($0)", "restored") }
        // A backup of this volume: its directory had the volume's label,
        // its files did not (restored from elsewhere, or never relabeled).
        try t.setLabel(labelB, restored)
        try t.setLabel(labelA, [backup])
        try run("/usr/bin/touch", ["-m", "-d", "1 day ago", backup] + restored)
        let archive = t.scratch.path + "/backup.tar"
        try run("/usr/bin/tar", ["--xattrs", "--xattrs-include=*", "-C", backup, "-cf", archive, "."])
        try run("/usr/bin/tar", ["--xattrs", "--xattrs-include=*", "-C", t.tree + "/a", "-xf", archive])
        #expect(label(t.tree + "/a/new") == labelB)
        #expect(label(t.tree + "/a") == labelA) // so its own label tells nothing
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("a file renamed into place over an old one, the directory's times then restored (rsync -a), is relabeled")
    func rsyncStyleReplaceIsFound() throws {
        let t = try StampedTree()
        let temporary = t.scratch.file("tree/b/.f1.tmp", "new contents")
        try t.setLabel(labelB, [temporary])
        #expect(rename(temporary, t.tree + "/b/f1") == 0)
        try run("/usr/bin/touch", ["-m", "-d", "1 hour ago", t.tree + "/b"])
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(t.tree + "/b/f1") == labelA)
    }

    @Test("a change to a directory itself (mode, owner, xattr, times) has its entries read again", arguments: [
        ["/bin/chmod", "0700"], ["/bin/chown", "1:1"], ["/usr/bin/setfattr", "-n", "user.note", "-v", "x"],
        ["/usr/bin/touch", "-d", "1 hour ago"],
    ])
    func directoryMetadataChangeIsFound(_ change: [String]) throws {
        let t = try StampedTree()
        let file = t.tree + "/a/f0"
        try t.setLabel(labelB, [file])
        try t.renewStamp() // the file's own change alone is not seen (a documented limit)
        try run(change[0], Array(change.dropFirst()) + [t.tree + "/a"])
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(file) == labelA)
    }

    @Test("a stamp from a walk that wrote labels does not vouch for a change made during it in a directory it had read")
    func changeDuringWritingWalkIsFound() throws {
        let t = try StampedTree()
        let (tree, during) = (t.tree, t.tree + "/b/during")
        let once = Flag()
        var relabeler = Relabeler(threads: 1)
        relabeler.afterDirectoryLabel = { path in
            // b's entries were read before its subdirectory c was opened.
            guard path.hasSuffix("/b/c"), !once.isSet else { return }
            once.set()
            _ = try? run("/usr/bin/touch", [during])
            _ = try? run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelB, during])
            _ = try? run("/usr/bin/touch", ["-m", "-d", "1 hour ago", tree + "/b"])
        }
        _ = try relabeler.relabel(t.tree, to: labelC)
        #expect(once.isSet)
        #expect(t.stamp() != nil)
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelC)
        #expect(label(during) == labelC)
    }

    @Test("the first repeat after a walk that wrote reads in full and renews the stamp; the repeat after it reads directories only")
    func repeatAfterWritingWalk() throws {
        let t = try StampedTree()
        let tree = t.tree
        #expect(try Relabeler(threads: 2).relabel(tree, to: labelB).changed == 18)
        // The repeats' stamps without slack, so that the renewed one is later
        // than the first walk's writes without waiting the slack out. The
        // writing walk keeps its slack: the kernel's coarse clock gives
        // writes just after its start ctimes just before it.
        var relabeler = Relabeler(threads: 2)
        relabeler.stampSlack = 0
        let afterWrite = try relabeler.relabel(tree, to: labelB)
        #expect(afterWrite == RelabelReport(visited: 18, changed: 0, unread: 0))
        let untouched = try relabeler.relabel(tree, to: labelB)
        #expect(untouched == RelabelReport(visited: 5, changed: 0, unread: 13))
    }

    @Test("a stamp not written by a finished walk to this label is not trusted: every file is read", arguments: [
        "future", "other label", "malformed",
    ])
    func untrustedStamp(_ kind: String) throws {
        let t = try StampedTree()
        let value: String
        switch kind {
        case "future": value = "1 \(time(nil) + 3600).000000000 \(labelA)"
        case "other label": value = String(decoding: TreeStamp(label: FileLabel(labelB), since: preciseNow()).encoded, as: UTF8.self)
        default: value = "svirt"
        }
        try run("/usr/bin/setfattr", ["-n", TreeStamp.xattrName, "-v", value, t.tree])
        let file = t.tree + "/a/f0"
        try t.setLabel(labelB, [file])
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(label(file) == labelA)
        #expect(report.unread == 0)
    }

    @Test("a root labeled by hand but never stamped is not trusted: every file is read")
    func rootLabelAloneIsNotTrusted() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        let files = (0..<5).map { scratch.file("tree/d/f\($0)") }
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, tree])
        try run("/usr/bin/touch", ["-m", "-d", "1 hour ago", tree, tree + "/d"])
        let report = try Relabeler(threads: 2).relabel(tree, to: labelA)
        for file in files { #expect(label(file) == labelA) }
        #expect(report.changed == 6)
    }

    @Test("a relabel that fails after writing leaves no stamp (its root labeled first), and the next one relabels everything")
    func failedWalkLeavesNoStamp() throws {
        let t = try StampedTree()
        let stuck = t.tree + "/b/c/f0"
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 2).relabel(t.tree, to: labelB) }
        #expect(t.stamp() == nil)
        #expect(label(t.tree) == labelB)
        try run("/usr/bin/chattr", ["-i", stuck])
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
        #expect(report.unread == 0)
        #expect(t.stamp() != nil)
    }

    @Test("a failed relabel to the stamp's own label removes the stamp: the tree is not complete")
    func failedSameLabelWalk() throws {
        let t = try StampedTree()
        // b changed since the stamp (a new file), so its files are read:
        // f1 needs a write, and f2 needs one that fails.
        t.scratch.file("tree/b/new")
        try t.setLabel(labelB, [t.tree + "/b/f1", t.tree + "/b/f2"])
        try run("/usr/bin/chattr", ["+i", t.tree + "/b/f2"])
        defer { _ = try? run("/usr/bin/chattr", ["-i", t.tree + "/b/f2"]) }
        #expect(Relabeler().isComplete(t.tree, label: labelA))
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 1).relabel(t.tree, to: labelA) }
        #expect(t.stamp() == nil)
        #expect(!Relabeler().isComplete(t.tree, label: labelA))
    }

    @Test("a relabel of a tree inside a stamped tree that fails half-way is caught by the outer tree's next relabel")
    func nestedFailedWalk() throws {
        let t = try StampedTree()
        let inner = t.tree + "/b"
        let stuck = t.tree + "/b/c/f2"
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 1).relabel(inner, to: labelB) }
        #expect(label(inner) == labelB) // the inner root first: the outer walk sees it
        try run("/usr/bin/chattr", ["-i", stuck])
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("a directory moved in keeps its mtime, but its new ctime under a changed directory gets it read in full")
    func movedInDirectoryIsFound() throws {
        let t = try StampedTree()
        let outside = t.scratch.dir("outside/sub")
        let files = [t.scratch.file("outside/f"), t.scratch.file("outside/sub/g")]
        try t.setLabel(labelA, [t.scratch.path + "/outside", outside])
        try t.setLabel(labelB, files)
        try run("/usr/bin/touch", ["-m", "-d", "1 hour ago", t.scratch.path + "/outside", outside])
        #expect(rename(t.scratch.path + "/outside", t.tree + "/a/moved") == 0)
        let report = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        for path in allPaths(t.tree + "/a/moved") { #expect(label(path) == labelA, "\(path)") }
        #expect(report.changed == 2)
    }

    @Test("relabels of one tree take turns: none starts while another holds the tree's lock")
    func lockSerializes() throws {
        let t = try StampedTree()
        let locks = t.scratch.dir("locks")
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = locks
        let treeFD = try FileDescriptor.open(t.tree, .directory)
        defer { treeFD.close() }
        var held = try TreeLock.forTree(treeFD, directory: locks)
        #expect(held != nil)
        try run("/usr/bin/setfattr", ["-x", TreeStamp.xattrName, t.tree])
        relabeler.lockTimeout = 0.2
        #expect(expectLockTimeout(relabeler, t.tree, labelA, lockPrefix: "tree-"))
        #expect(t.stamp() == nil) // it did not run: the stamp it writes at the end is not there
        held = nil
        _ = try relabeler.relabel(t.tree, to: labelA)
        #expect(t.stamp() != nil)
    }

    @Test("a walk that trusts no stamp (a first pass) takes the write lock before reading: it waits while another holds it")
    func writesTakeTurns() throws {
        let t = try StampedTree()
        let locks = t.scratch.dir("locks")
        let other = t.scratch.dir("other")
        t.scratch.file("other/f")
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = locks
        var held = try holdWrites(other, locks: locks)
        #expect(held != nil)
        relabeler.lockTimeout = 0.2
        #expect(expectLockTimeout(relabeler, other, labelB, lockPrefix: "writes to "))
        #expect(label(other) == nil) // nothing written without the lock
        held = nil
        _ = try relabeler.relabel(other, to: labelB)
        #expect(label(other) == labelB)
        #expect(label(other + "/f") == labelB)
        #expect(stamp(other) != nil)
    }

    @Test("a tree's own stamp goes when an outer walk relabels its root, so a later walk of it does not trust it")
    func nestedStampRemovedByOuterWalk() throws {
        let t = try StampedTree()
        let inner = t.tree + "/b"
        _ = try Relabeler(threads: 2).relabel(inner, to: labelB)
        #expect(stamp(inner)?.hasSuffix(labelB) == true)
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelC)
        #expect(stamp(inner) == nil)
        // Back to labelB, failing inside b after b itself got labelB again.
        let stuck = t.tree + "/b/c/f0"
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 1).relabel(t.tree, to: labelB) }
        #expect(label(inner) == labelB)
        #expect(!Relabeler().isComplete(inner, label: labelB))
        try run("/usr/bin/chattr", ["-i", stuck])
        _ = try Relabeler(threads: 2).relabel(inner, to: labelB)
        for path in allPaths(inner) { #expect(label(path) == labelB, "\(path)") }
    }

    @Test("without the lock (no lock directory) a stamp is neither trusted nor left behind")
    func noLockNoStamp() throws {
        let t = try StampedTree()
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = "/proc/svirt-no-such-dir"
        let file = t.tree + "/a/f0"
        try t.setLabel(labelB, [file])
        let report = try relabeler.relabel(t.tree, to: labelA)
        #expect(label(file) == labelA)
        #expect(report.unread == 0)
        #expect(t.stamp() == nil)
    }

    @Test("a repeat that only reads takes no write lock: it finishes and renews its stamp while a writer holds the tree's")
    func readOnlyRepeatTakesNoWriteLock() throws {
        let t = try StampedTree()
        let locks = t.scratch.dir("locks")
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = locks
        _ = try relabeler.relabel(t.tree, to: labelA) // stamp written under these locks
        try t.renewStamp()
        let before = try #require(t.stamp())
        try waitForCoarseClock(after: preciseNow())
        let held = try holdWrites(t.tree, locks: locks)
        #expect(held != nil)
        relabeler.lockTimeout = 0.2 // a wait for the lock would fail the relabel
        let report = try relabeler.relabel(t.tree, to: labelA)
        #expect(report.changed == 0 && report.unread == 13)
        #expect(t.stamp() != nil && t.stamp() != before)
        withExtendedLifetime(held) {}
    }

    @Test("a repeat that finds something to write starts over under the write lock, waiting for it")
    func repeatThatWritesStartsOver() throws {
        let t = try StampedTree()
        let locks = t.scratch.dir("locks")
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = locks
        t.scratch.file("tree/b/new") // b changed: its files are read
        let file = t.tree + "/b/f1"
        try t.setLabel(labelB, [file])
        var held = try holdWrites(t.tree, locks: locks)
        relabeler.lockTimeout = 0.2
        #expect(expectLockTimeout(relabeler, t.tree, labelA, lockPrefix: "writes to "))
        #expect(label(file) == labelB)
        #expect(t.stamp() != nil) // not removed: nothing is written before the lock
        held = nil
        _ = try relabeler.relabel(t.tree, to: labelA)
        #expect(label(file) == labelA)
        #expect(t.stamp() != nil)
    }

    @Test("nested trees: while a walk of the inner tree is under way, the outer tree's repeat cannot relabel it under its stamp")
    func nestedWalksDoNotInterleave() throws {
        let t = try StampedTree()
        let locks = t.scratch.dir("locks")
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = locks
        let inner = t.tree + "/b"
        _ = try relabeler.relabel(t.tree, to: labelA)
        _ = try relabeler.relabel(inner, to: labelB)
        // The inner walk reads everything (--full), holding the write lock;
        // when it reaches b/c the outer repeat tries, and cannot go on
        // (a short lock timeout shows it without waiting it out).
        let outerBlocked = Flag()
        var innerRelabeler = relabeler
        innerRelabeler.full = true
        var blockedOuter = relabeler
        blockedOuter.lockTimeout = 0.2
        let (tree, outer) = (t.tree, blockedOuter)
        innerRelabeler.afterDirectoryLabel = { path in
            guard path.hasSuffix("/b/c") else { return }
            if expectLockTimeout(outer, tree, labelA, lockPrefix: "writes to ") { outerBlocked.set() }
        }
        _ = try innerRelabeler.relabel(inner, to: labelB)
        #expect(outerBlocked.isSet)
        _ = try relabeler.relabel(t.tree, to: labelA)
        // The outer walk ran after the inner one and relabeled all of b.
        var full = relabeler
        full.full = true
        #expect(try full.relabel(t.tree, to: labelA).changed == 0)
        for path in allPaths(t.tree) { #expect(label(path) == labelA, "\(path)") }
    }

    @Test("a walk without locks that wrote removes a stamp written meanwhile by another walk")
    func unlockedWalkRemovesStampWrittenMeanwhile() throws {
        let t = try StampedTree()
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = "/proc/svirt-no-such-dir"
        let tree = t.tree
        relabeler.afterDirectoryLabel = { path in
            guard path.hasSuffix("/b") else { return }
            _ = try? run("/usr/bin/setfattr", ["-n", TreeStamp.xattrName, "-v", "1 0.000000000 \(labelB)", tree])
        }
        _ = try relabeler.relabel(t.tree, to: labelB)
        #expect(t.stamp() == nil)
    }

    @Test("TreeLock excludes: 16 threads contending for one lock never hold it at once, and leave no file")
    func lockChurn() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        let inside = Mutex(0)
        let overlaps = Mutex(0)
        let finished = Mutex(0)
        let acquired = Mutex(0)
        for _ in 0..<16 {
            Thread {
                for _ in 0..<100 {
                    guard let lock = try? TreeLock.acquire("churn", directory: locks) else { continue }
                    acquired.withLock { $0 += 1 }
                    if inside.withLock({ $0 += 1; return $0 }) > 1 { overlaps.withLock { $0 += 1 } }
                    usleep(50)
                    inside.withLock { $0 -= 1 }
                    withExtendedLifetime(lock) {}
                }
                finished.withLock { $0 += 1 }
            }.start()
        }
        while finished.withLock({ $0 }) < 16 { usleep(10_000) }
        #expect(acquired.withLock { $0 } == 1600)
        #expect(overlaps.withLock { $0 } == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: locks).isEmpty)
    }

    @Test("an outer walk that stops half-way inside a nested stamped tree of the same label removes that tree's stamp (and the evidence it erased is not trusted away)")
    func stoppedOuterWalkClearsNestedStamp() throws {
        let t = try StampedTree()
        let inner = t.tree + "/b"
        _ = try Relabeler(threads: 2).relabel(inner, to: labelA) // b stamped too, same label
        // Another tool relabels c, which shows on c's label to b's walks.
        try t.setLabel(labelB, [t.tree + "/b/c"] + t.files.filter { $0.contains("/b/c/") })
        let stuck = t.tree + "/b/c/f2"
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        // Writes labelA on c (erasing the sign that c differed) and fails.
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 1).relabel(t.tree, to: labelA) }
        #expect(stamp(inner) == nil)
        try run("/usr/bin/chattr", ["-i", stuck])
        _ = try Relabeler(threads: 2).relabel(inner, to: labelA)
        var full = Relabeler(threads: 2)
        full.full = true
        #expect(try full.relabel(inner, to: labelA).changed == 0)
    }

    @Test("a walk that writes removes the stamps of the directories above it on its mount, even if it then fails")
    func writingWalkClearsAncestorStamps() throws {
        let t = try StampedTree()
        _ = try Relabeler(threads: 2).relabel(t.tree + "/b", to: labelA)
        let stuck = t.tree + "/b/c/f2"
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        #expect(throws: RelabelError.self) { _ = try Relabeler(threads: 1).relabel(t.tree + "/b/c", to: labelB) }
        #expect(stamp(t.tree) == nil)
        #expect(stamp(t.tree + "/b") == nil)
    }

    @Test("relabeling a single file (a file bind mount) removes the stamps of the directories above it")
    func singleFileClearsAncestorStamps() throws {
        let t = try StampedTree()
        _ = try Relabeler(threads: 2).relabel(t.tree + "/b/c/f0", to: labelB)
        #expect(stamp(t.tree) == nil)
        var full = Relabeler(threads: 2)
        full.full = true
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(try full.relabel(t.tree, to: labelA).changed == 0)
    }

    @Test("a read-only repeat does not put back a stamp that a writer removed while it read")
    func readOnlyRepeatKeepsRemovedStampRemoved() throws {
        let t = try StampedTree()
        var relabeler = Relabeler(threads: 1)
        let tree = t.tree
        relabeler.afterDirectoryLabel = { path in
            guard path.hasSuffix("/b") else { return }
            _ = try? run("/usr/bin/setfattr", ["-x", TreeStamp.xattrName, tree])
        }
        let report = try relabeler.relabel(t.tree, to: labelA)
        #expect(report.changed == 0)
        #expect(t.stamp() == nil)
    }

    @Test("a relabel through a bind mount of part of a stamped tree removes the stamps above it in every view")
    func bindMountViewClearsStamps() throws {
        let t = try StampedTree()
        let view = t.scratch.dir("view")
        try t.scratch.mount(["--bind", t.tree + "/b"], at: view)
        _ = try Relabeler(threads: 2).relabel(view + "/f1", to: labelB)
        #expect(t.stamp() == nil)
        _ = try Relabeler(threads: 2).relabel(t.tree, to: labelA)
        #expect(t.stamp() != nil)
        _ = try Relabeler(threads: 2).relabel(view + "/c", to: labelB)
        #expect(t.stamp() == nil)
    }

    @Test("a covering directory that only read-only mounts show keeps its stamp without stopping the relabel")
    func readOnlyViewOfCoveringStamp() throws {
        let scratch = Scratch()
        let fs = scratch.dir("fs")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: fs)
        scratch.file("fs/top/sub/vol/f")
        let writable = scratch.dir("w")
        try scratch.mount(["--bind", fs + "/top/sub"], at: writable)
        try run("/usr/bin/setfattr", ["-n", TreeStamp.xattrName, "-v", "1 0.000000000 \(labelA)", fs + "/top"])
        try run("/bin/mount", ["-o", "remount,bind,ro", fs])
        let report = try Relabeler(threads: 1).relabel(writable + "/vol", to: labelA)
        #expect(report.warnings.isEmpty)
        #expect(label(writable + "/vol/f") == labelA)
    }

    @Test("a covering path that another mount hides is not the covering directory: what is mounted there is left alone")
    func hiddenCoveringPathIsSkipped() throws {
        let scratch = Scratch()
        let fs = scratch.dir("fs")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: fs)
        scratch.file("fs/x/vol/f")
        let view = scratch.dir("view")
        try scratch.mount(["--bind", fs + "/x"], at: view)
        // A stamped, immutable directory mounted over fs/x: its stamp
        // cannot be removed, and it is not fs/x.
        let stuck = scratch.dir("stuck")
        try run("/usr/bin/setfattr", ["-n", TreeStamp.xattrName, "-v", "1 0.000000000 \(labelA)", stuck])
        try run("/usr/bin/chattr", ["+i", stuck])
        defer { _ = try? run("/usr/bin/chattr", ["-i", stuck]) }
        try scratch.mount(["--bind", stuck], at: fs + "/x")
        let report = try Relabeler(threads: 1).relabel(view + "/vol", to: labelA)
        #expect(report.changed == 2)
        #expect(stamp(stuck) != nil)
        try scratch.unmount(fs + "/x")
    }

    @Test("a stamp that cannot be removed (immutable directory) stops every write it covers")
    func stuckStampStopsWrites() throws {
        let t = try StampedTree()
        let inner = t.tree + "/b"
        _ = try Relabeler(threads: 2).relabel(inner, to: labelA) // b stamped
        let file = inner + "/f1"
        try t.setLabel(labelB, [file])
        t.scratch.file("tree/b/new") // b changed: its entries are read
        try run("/usr/bin/chattr", ["+i", inner])
        defer { _ = try? run("/usr/bin/chattr", ["-i", inner]) }
        #expect {
            _ = try Relabeler(threads: 1).relabel(t.tree, to: labelA)
        } throws: { error in
            (error as? RelabelError)?.path == inner && (error as? RelabelError)?.errno == .permissionDenied
        }
        #expect(label(file) == labelB)
        #expect(throws: RelabelError.self) { _ = try Relabeler().relabel(file, to: labelA) }
        #expect(label(file) == labelB)
    }

    @Test("a directory relabeled alone (its files right) costs one read per directory, not blind rewrites")
    func directoryRelabeledAloneIsNotRewrittenBlind() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        let files = (0..<200).map { scratch.file("tree/d/f\($0)") }
        for file in files { try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, file]) }
        let report = try Relabeler(threads: 1).relabel(tree, to: labelA)
        #expect(report.changed == 2) // the root and d
    }

    @Test("lock files are removed when released, and a lock directory that is not ours alone is refused")
    func lockFilesAndDirectory() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        var lock = try TreeLock.acquire("x", directory: locks)
        #expect(lock != nil)
        #expect(FileManager.default.fileExists(atPath: locks + "/x"))
        lock = nil
        #expect(!FileManager.default.fileExists(atPath: locks + "/x"))
        chmod(locks, 0o777)
        #expect(try TreeLock.acquire("x", directory: locks) == nil)
        scratch.symlink("link", to: locks)
        chmod(locks, 0o700)
        #expect(try TreeLock.acquire("x", directory: scratch.path + "/link") == nil)
        #expect(try TreeLock.acquire("x", directory: locks) != nil)
    }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
    /// Bounded: fails the test, with `what`, after two minutes.
    func wait(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for _ in 0..<12_000 where !isSet { usleep(10_000) }
        if !isSet { Issue.record("timed out waiting: \(what)", sourceLocation: sourceLocation) }
    }
}

/// Runs `body` on a thread of its own; the flag is set when it returns.
private func inBackground(_ body: @escaping @Sendable () -> Void) -> Flag {
    let done = Flag()
    Thread {
        body()
        done.set()
    }.start()
    return done
}

@Suite("Change times at coarse granularity")
struct CoarseTimestampTests {
    /// ext2/3, ext4 with 128-byte inodes: ctimes in whole seconds, from a
    /// clock that may lag the walk's own reading of it by a tick (4 ms).
    static func coarseCtime(_ t: TreeStamp.Timestamp) -> TreeStamp.Timestamp {
        let lagged = t.nanoseconds >= 4_000_000
            ? TreeStamp.Timestamp(seconds: t.seconds, nanoseconds: t.nanoseconds - 4_000_000)
            : TreeStamp.Timestamp(seconds: t.seconds - 1, nanoseconds: t.nanoseconds + 996_000_000)
        return TreeStamp.Timestamp(seconds: lagged.seconds, nanoseconds: 0)
    }

    @Test("a change at or after a walk's start shows as changed even with 1 s timestamps and a lagging clock",
          arguments: [UInt32(0), 1, 3_999_999, 500_000_000, 999_999_999])
    func changeAfterStartIsSeen(_ startNanos: UInt32) {
        let start = TreeStamp.Timestamp(seconds: 1_700_000_000, nanoseconds: startNanos)
        let since = TreeStamp.forWalk(startingAt: start, label: FileLabel(labelA)).since
        for delay: UInt32 in [0, 1, 1_000, 250_000_000] {
            var change = start
            change.nanoseconds += delay
            if change.nanoseconds >= 1_000_000_000 { change.seconds += 1; change.nanoseconds -= 1_000_000_000 }
            #expect(TreeStamp.changed(ctime: Self.coarseCtime(change), since: since), "start \(start) delay \(delay)")
        }
    }

    @Test("a directory last changed more than the slack before the walk is trusted")
    func oldChangeIsTrusted() {
        let start = TreeStamp.Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
        let since = TreeStamp.forWalk(startingAt: start, label: FileLabel(labelA)).since
        #expect(!TreeStamp.changed(ctime: .init(seconds: 1_699_999_997, nanoseconds: 0), since: since))
    }
}

@Suite("Write locks cover one place in a file system", .needsRoot)
struct WriteLockPlaceTests {
    @Test("writers of unrelated trees on one file system do not wait for each other")
    func unrelatedTreesDoNotWait() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        scratch.file("a/f")
        let b = scratch.dir("b")
        scratch.file("b/f")
        let held = try holdWrites(scratch.path + "/a", locks: locks)
        #expect(held != nil)
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = locks
        relabeler.lockTimeout = 0.2 // a wait for a's lock would fail the relabel
        #expect(try relabeler.relabel(b, to: labelA).changed == 2)
        #expect(stamp(b) != nil)
        withExtendedLifetime(held) {}
    }

    @Test("a writer of a tree inside another waits for the outer tree's writer, and the outer for the inner")
    func nestedTreesWaitBothWays() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        let outer = scratch.dir("outer")
        scratch.file("outer/inner/f")
        let inner = outer + "/inner"
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = locks
        relabeler.lockTimeout = 0.2
        var held = try holdWrites(outer, locks: locks)
        #expect(expectLockTimeout(relabeler, inner, labelA, lockPrefix: "writes under "))
        held = nil // before taking the inner one, which waits for it like anyone else
        held = try holdWrites(inner, locks: locks)
        #expect(expectLockTimeout(relabeler, outer, labelA, lockPrefix: "writes to "))
        #expect(label(inner + "/f") == nil) // neither wrote
        held = nil
        #expect(try relabeler.relabel(outer, to: labelA).changed == 3)
    }

    @Test("a bind mount of a tree names the same write lock as the tree")
    func bindMountSharesTheLock() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        let tree = scratch.dir("tree")
        scratch.file("tree/f")
        let view = scratch.dir("view")
        try scratch.mount(["--bind", tree], at: view)
        let held = try holdWrites(view, locks: locks)
        #expect(held != nil)
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = locks
        relabeler.lockTimeout = 0.2
        #expect(expectLockTimeout(relabeler, tree, labelA, lockPrefix: "writes to "))
        withExtendedLifetime(held) {}
    }

    @Test("a file system place lists the directories above it, its root first")
    func placeAncestors() {
        #expect(FileSystemPlace(device: "0:1", path: "/a/b/c").ancestors == ["/", "/a", "/a/b"])
        #expect(FileSystemPlace(device: "0:1", path: "/").ancestors == [])
    }

    @Test("a path's place is the mount's root joined with the part below its mount point, for bind mounts too")
    func placeThroughBindMount() {
        let mounts = [MountEntry(id: 1, parent: 0, device: "8:1", root: "/", mountPoint: "/"),
                      MountEntry(id: 2, parent: 1, device: "8:1", root: "/srv/data", mountPoint: "/mnt/v")]
        #expect(MountTable.place(of: "/mnt/v/x", mountID: 2, mounts: mounts)
            == FileSystemPlace(device: "8:1", path: "/srv/data/x"))
        #expect(MountTable.place(of: "/srv/data/x", mountID: 1, mounts: mounts)
            == FileSystemPlace(device: "8:1", path: "/srv/data/x"))
        #expect(MountTable.place(of: "/elsewhere", mountID: 2, mounts: mounts) == nil)
    }

    @Test("every waiting relabel's locks are gone when it ends: no lock file is left behind")
    func noLockFilesLeft() throws {
        let scratch = Scratch()
        let locks = scratch.dir("locks")
        scratch.file("t/d/f")
        var relabeler = Relabeler(threads: 2)
        relabeler.lockDirectory = locks
        _ = try relabeler.relabel(scratch.path + "/t", to: labelA)
        _ = try relabeler.relabel(scratch.path + "/t/d/f", to: labelB)
        #expect(try FileManager.default.contentsOfDirectory(atPath: locks) == [])
    }
}

@Suite("Lock waits are bounded", .needsRoot)
struct LockTimeoutTests {
    @Test("a relabel that cannot get the write lock within its timeout fails with ETIMEDOUT, naming the holder, and writes nothing")
    func writeLockTimeoutNamesHolder() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        let file = scratch.file("tree/f")
        let locks = scratch.dir("locks")
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = locks
        relabeler.lockTimeout = 0.2
        var held = try holdWrites(tree, locks: locks)
        #expect(held != nil)
        do {
            _ = try relabeler.relabel(tree, to: labelA)
            Issue.record("relabel succeeded while the write lock was held")
        } catch {
            guard case .lockTimedOut(let path, let lock, let holder, _) = error else {
                Issue.record("not a lock timeout: \(error)")
                return
            }
            #expect(path == tree && lock.hasPrefix("writes to ") && lock.contains("/tree on "), "\(lock)")
            #expect(holder.hasPrefix("pid \(getpid()) ("), "\(holder)")
            #expect(error.errno == .timedOut)
        }
        #expect(label(file) != labelA)
        held = nil
        #expect(try relabeler.relabel(tree, to: labelA).changed == 2)
    }
}

/// Whether relabeling `path` fails because the lock named with
/// `lockPrefix` stays held (the relabeler's own short timeout): proof that
/// it needs that lock before it reads or writes, without waiting it out.
private func expectLockTimeout(_ relabeler: Relabeler, _ path: String, _ label: String, lockPrefix: String) -> Bool {
    do {
        _ = try relabeler.relabel(path, to: label)
        return false
    } catch {
        guard case .lockTimedOut(_, let lock, _, _) = error else { return false }
        return lock.hasPrefix(lockPrefix)
    }
}
