import Foundation
import Synchronization
import Testing
import SVirtRelabel
@testable import SVirtHook
import SVirtHost

@Suite("Progress and summary lines")
struct ProgressLineTests {
    @Test("entries, changed, rate and elapsed; no time left without a total")
    func withoutTotal() {
        #expect(ProgressLine.format(done: 1200, changed: 300, elapsed: 3, total: nil)
            == "1200 entries (300 changed), 400/s, 0:03 elapsed")
        #expect(ProgressLine.format(done: 50, changed: 0, elapsed: 125.4, total: nil)
            == "50 entries, 0/s, 2:05 elapsed")
    }

    @Test("with a total the walk is not past: the time left at the rate so far")
    func withTotal() {
        #expect(ProgressLine.format(done: 1000, changed: 1000, elapsed: 2, total: 3000)
            == "1000 entries (1000 changed), 500/s, 0:02 elapsed, about 0:04 left")
        #expect(ProgressLine.format(done: 10, changed: 0, elapsed: 1, total: 36010)
            == "10 entries, 10/s, 0:01 elapsed, about 1:00:00 left")
    }

    @Test("a total the walk has passed (hard links: an undercount) or no time yet: no estimate")
    func noEstimate() {
        #expect(ProgressLine.format(done: 3000, changed: 0, elapsed: 2, total: 2999)
            == "3000 entries, 1500/s, 0:02 elapsed")
        #expect(ProgressLine.format(done: 0, changed: 0, elapsed: 0, total: 100) == "0 entries, 0:00 elapsed")
    }

    @Test("the finished relabel's summary: entries, changed, seconds to hundredths, rate")
    func summary() {
        #expect(ProgressLine.summary(entries: 2001, changed: 2001, elapsed: 0.42)
            == "2001 entries, 2001 changed, 0.42 s, 4764 entries/s")
        #expect(ProgressLine.summary(entries: 1, changed: 0, elapsed: 0) == "1 entries, 0 changed, 0.00 s")
        #expect(ProgressLine.summary(entries: 5, changed: 0, elapsed: 61.005) == "5 entries, 0 changed, 61.01 s, 0 entries/s")
    }

    @Test("the hook's line names the tree")
    func hookLine() {
        #expect(ProgressLine.hookLine("/srv/data", RelabelProgress(visited: 90, changed: 9, unread: 10, elapsed: 10))
            == "relabeling /srv/data: 100 entries (9 changed), 10/s, 0:10 elapsed")
    }
}

/// Lines a log would have received, from any walker thread.
final class RecordedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A tree of `files` files in 10 directories under a fresh /tmp directory.
private func scratchTree(files: Int) throws -> (base: String, tree: String) {
    let base = NSTemporaryDirectory() + "svirt-progress-\(UUID().uuidString)"
    let tree = base + "/volume"
    for i in 0..<files {
        let dir = tree + "/d\(i % 10)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir + "/f\(i)", contents: Data("x".utf8)))
    }
    return (base, tree)
}

@Suite("Long relabels in the hook are logged as they run", .enabled(if: getuid() == 0, "needs root: writes security.selinux xattrs"))
struct HookRelabelProgressTests {
    static let label = "system_u:object_r:container_file_t:s0:c1,c2"

    @Test("a relabel longer than the interval sends lines naming the tree with its counts")
    func treeRelabelerLogs() throws {
        let (base, tree) = try scratchTree(files: 400)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let lines = RecordedLines()
        let relabeler = TreeRelabeler(progress: TreeRelabeler.ProgressLog(interval: 0, batch: 32) { lines.append($0) })
        #expect(try relabeler.relabel(source: tree, label: Self.label, within: nil).isEmpty)
        let logged = lines.all
        #expect(!logged.isEmpty)
        for line in logged {
            #expect(line.hasPrefix("relabeling \(tree): "), "\(line)")
            #expect(line.contains(" entries") && line.contains(" elapsed"), "\(line)")
        }
        #expect(logged.contains { $0.contains("changed") })
    }

    @Test("the hook's own run relabels a Z volume through the same observer")
    func hookRunLogs() throws {
        let (base, tree) = try scratchTree(files: 300)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let lines = RecordedLines()
        let config = #"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","selinuxLabel":"system_u:system_r:container_t:s0:c1,c2"},"root":{"path":"/r"},"linux":{"mountLabel":"\#(Self.label)"},"annotations":{"io.svirt.relabel":"/data:Z"},"mounts":[{"destination":"/data","type":"bind","source":"\#(tree)"}]}"#
        var env = environment()
        env.relabeler = { () throws(HookError) -> any MountRelabeler in
            TreeRelabeler(progress: TreeRelabeler.ProgressLog(interval: 0, batch: 16) { lines.append($0) })
        }
        var options = HookOptions()
        options.stage = .precreate
        _ = try HookRun.run(input: Array(config.utf8), options: options, environment: env)
        #expect(lines.all.contains { $0.hasPrefix("relabeling \(tree): ") && $0.contains(" entries") })
    }

    @Test("the hook's interval is 10 s")
    func hookInterval() {
        #expect(TreeRelabeler.ProgressLog { _ in }.interval == 10)
    }
}
