import Foundation
import Glibc
import Synchronization
import Testing
@_spi(Bench) @testable import SVirtRelabel

/// What an observer was told, in order.
final class RecordedProgress: Sendable {
    private let reports = Mutex<[RelabelProgress]>([])
    func append(_ p: RelabelProgress) { reports.withLock { $0.append(p) } }
    var all: [RelabelProgress] { reports.withLock { $0 } }
}

@Suite("Progress of a walk, from the walker's own counts", .needsRoot)
struct ProgressTests {
    @Test("with interval 0 every batch is reported: counts never go back and stay within the final report",
          arguments: [1, 4])
    func reportsAsItGoes(threads: Int) throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for d in 0..<20 {
            for f in 0..<30 { scratch.file("tree/d\(d)/f\(f)") }
        }
        let recorded = RecordedProgress()
        var relabeler = Relabeler(threads: threads, policy: SystemPathPolicy())
        relabeler.observer = RelabelObserver(interval: 0, batch: 16) { recorded.append($0) }
        let report = try relabeler.relabel(tree, to: labelA)
        let reports = recorded.all
        #expect(reports.count >= 600 / 16 / 2, "\(reports.count) reports")
        for (a, b) in zip(reports, reports.dropFirst()) {
            #expect(a.done <= b.done && a.changed <= b.changed && a.elapsed <= b.elapsed)
        }
        let last = try #require(reports.last)
        #expect(last.visited <= report.visited && last.changed <= last.visited)
        #expect(last.total == nil, "a directory of /tmp is not a whole file system")
    }

    @Test("an interval the walk does not reach: no report, and the same counts")
    func longIntervalIsQuiet() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for f in 0..<100 { scratch.file("tree/f\(f)") }
        let recorded = RecordedProgress()
        var relabeler = Relabeler(threads: 2, policy: SystemPathPolicy())
        relabeler.observer = RelabelObserver(interval: 3600, batch: 1) { recorded.append($0) }
        let report = try relabeler.relabel(tree, to: labelA)
        #expect(report.visited == 101 && report.changed == 101)
        #expect(recorded.all.isEmpty)
    }

    @Test("a repeat that trusts the stamp reports the entries it skipped as unread")
    func repeatCountsUnread() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        for d in 0..<4 {
            for f in 0..<50 { scratch.file("tree/d\(d)/f\(f)") }
        }
        var relabeler = Relabeler(threads: 1, policy: SystemPathPolicy())
        relabeler.stampSlack = 0
        _ = try relabeler.relabel(tree, to: labelA) // writes: new directory ctimes
        let start = preciseNow()
        _ = try relabeler.relabel(tree, to: labelA) // reads all, renews the stamp
        try waitForCoarseClock(after: start)
        let recorded = RecordedProgress()
        relabeler.observer = RelabelObserver(interval: 0, batch: 1) { recorded.append($0) }
        let report = try relabeler.relabel(tree, to: labelA)
        #expect(report.unread == 200 && report.changed == 0)
        #expect(recorded.all.last?.unread == 200)
        #expect(recorded.all.last?.done == report.visited + report.unread)
    }

    @Test("a tree that is a whole file system has a total: its used inodes",
          .enabled(if: getuid() == 0))
    func wholeFileSystemHasTotal() throws {
        let scratch = Scratch()
        let fs = scratch.dir("fs")
        try scratch.mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs"], at: fs)
        for f in 0..<40 { scratch.file("fs/sub/f\(f)") }
        let recorded = RecordedProgress()
        var relabeler = Relabeler(threads: 1, policy: SystemPathPolicy())
        relabeler.observer = RelabelObserver(interval: 0, batch: 1) { recorded.append($0) }
        let report = try relabeler.relabel(fs, to: labelA)
        #expect(report.visited == 42)
        #expect(recorded.all.last?.total == 42)
        // The same file system below its root: the count would include
        // what lies outside the tree.
        let below = RecordedProgress()
        relabeler.observer = RelabelObserver(interval: 0, batch: 1) { below.append($0) }
        _ = try relabeler.relabel(fs + "/sub", to: labelB)
        #expect(!below.all.isEmpty && below.all.allSatisfy { $0.total == nil })
    }
}
