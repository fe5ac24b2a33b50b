import Foundation
import Testing
import SVirtSELinux
import SVirtSystem
@testable import SVirtAllocation

/// A fresh state directory per test, removed afterwards.
final class StateDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "svirt-alloc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func store() throws -> ReservationStore { try ReservationStore(directory: path + "/state") }
    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/state/" + relative))
    }
    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/state/" + relative, withIntermediateDirectories: true)
    }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/state/" + relative) }
    func entries(_ relative: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path + "/state/" + relative).sorted()
    }
}

private func level(_ text: String) throws -> MCSLevel { try #require(MCSLevel(text)) }
private let tiny = CategoryRange(lower: 0, upper: 2) // three pairs

@Suite("ReservationStore")
struct ReservationStoreTests {
    @Test("the same key gets the same level, also from a new store instance; other keys get other levels")
    func sameKeySameLevel() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let first = try store.reserve(key: "ctr-a", rootPath: nil, range: .full, inUse: [])
        #expect(try store.reserve(key: "ctr-a", rootPath: nil, range: .full, inUse: []) == first)
        #expect(try dir.store().reserve(key: "ctr-a", rootPath: "/r", range: .full, inUse: []) == first)
        var levels: Set<MCSLevel> = [first]
        for i in 0..<300 {
            let l = try store.reserve(key: "ctr-\(i)", rootPath: nil, range: .full, inUse: [])
            #expect(l.categories.count == 2 && l.categories[0] < l.categories[1])
            levels.insert(l)
        }
        #expect(levels.count == 301)
    }

    @Test("a full tiny range is a clear exhaustion error, and freeing one level makes it usable again")
    func exhaustion() throws {
        let dir = try StateDir()
        let store = try dir.store()
        var got: Set<MCSLevel> = []
        for key in ["a", "b", "c"] { got.insert(try store.reserve(key: key, rootPath: nil, range: tiny, inUse: [])) }
        #expect(got.count == 3)
        let error = #expect(throws: ReservationError.self) {
            try store.reserve(key: "d", rootPath: nil, range: tiny, inUse: [])
        }
        #expect(error?.kind == .exhausted)
        #expect(error?.description.contains("c0.c2") == true)
        #expect(try dir.entries("tmp").isEmpty, "a failed attempt leaves no temporary behind")
        #expect(!dir.exists("keys/d"), "nor an empty record")
        let freed = try store.release(key: "b")
        #expect(try store.reserve(key: "d", rootPath: nil, range: tiny, inUse: []) == freed.first)
    }

    @Test("a one-category range is refused as exhausted instead of looping")
    func rangeTooSmall() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let error = #expect(throws: ReservationError.self) {
            try store.reserve(key: "a", rootPath: nil, range: CategoryRange(lower: 5, upper: 5), inUse: [])
        }
        #expect(error?.kind == .exhausted)
    }

    @Test("c1022,c1023 is never handed out, even when it is the only pair left in the range")
    func privilegedLevelNeverDrawn() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let range = CategoryRange(lower: 1021, upper: 1023)
        let a = try store.reserve(key: "a", rootPath: nil, range: range, inUse: [])
        let b = try store.reserve(key: "b", rootPath: nil, range: range, inUse: [])
        #expect(Set([a, b]) == Set([try level("s0:c1021,c1022"), try level("s0:c1021,c1023")]))
        #expect(throws: ReservationError.self) { try store.reserve(key: "c", rootPath: nil, range: range, inUse: []) }
    }

    @Test("levels in use elsewhere are skipped")
    func inUseSkipped() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let inUse: Set<MCSLevel> = [try level("s0:c0,c1"), try level("s0:c0,c2")]
        #expect(try store.reserve(key: "a", rootPath: nil, range: tiny, inUse: inUse) == level("s0:c1,c2"))
        #expect(throws: ReservationError.self) { try store.reserve(key: "b", rootPath: nil, range: tiny, inUse: inUse) }
    }

    @Test("a claimed level joins the holders of a reserved one; it stays held until the last holder leaves")
    func claimShares() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let shared = try store.reserve(key: "a", rootPath: nil, range: tiny, inUse: [])
        // Existing roots: the store collects gone keys when a range runs full.
        try store.claim(shared, key: "b", rootPath: dir.path)
        try store.claim(shared, key: "b", rootPath: dir.path + "/state")
        let rows = try store.list().filter { $0.level == shared }
        #expect(rows.map(\.key) == ["a", "b"])
        #expect(rows.allSatisfy { $0.state == .held })
        #expect(rows.last?.roots == [dir.path, dir.path + "/state"])
        #expect(try store.release(key: "a") == [shared])
        // Still held by b: the two remaining pairs go to c and d, then the range is full.
        let c = try store.reserve(key: "c", rootPath: nil, range: tiny, inUse: [])
        let d = try store.reserve(key: "d", rootPath: nil, range: tiny, inUse: [])
        #expect(!Set([c, d]).contains(shared))
        #expect(throws: ReservationError.self) { try store.reserve(key: "e", rootPath: nil, range: tiny, inUse: []) }
        #expect(try store.release(key: "b") == [shared])
        #expect(try store.reserve(key: "e", rootPath: nil, range: tiny, inUse: []) == shared)
    }

    @Test("claiming another level moves the key: the old level is freed, a free one is created")
    func claimMoves() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let old = try store.reserve(key: "a", rootPath: nil, range: .full, inUse: [])
        let wanted = try level("s0:c7,c8,c9")
        try store.claim(wanted, key: "a", rootPath: nil)
        #expect(try store.reserve(key: "a", rootPath: nil, range: .full, inUse: []) == wanted)
        #expect(!dir.exists("levels/\(old)"))
        #expect(try dir.entries("levels/s0:c7.c9") == ["a"])
    }

    @Test("release frees the level, returns it, and is a no-op for a key without reservation")
    func release() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let l = try store.reserve(key: "a/b", rootPath: nil, range: .full, inUse: [])
        #expect(try store.release(key: "a/b") == [l])
        #expect(try dir.entries("levels").isEmpty)
        #expect(try dir.entries("keys").isEmpty)
        #expect(try store.release(key: "a/b") == [])
        #expect(throws: ReservationError.self) { try store.reserve(key: "", rootPath: nil, range: .full, inUse: []) }
    }

    @Test("release of a level frees every key holding it")
    func releaseLevel() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let l = try level("s0:c1,c2")
        try store.claim(l, key: "x", rootPath: nil)
        try store.claim(l, key: "y", rootPath: nil)
        #expect(try store.release(level: l).sorted() == ["x", "y"])
        #expect(try store.list().isEmpty)
    }

    @Test("gc frees keys whose every root is gone, prunes gone roots of pods, keeps rootless keys")
    func gcGoneRoots() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let roots = (0..<4).map { dir.path + "/root\($0)" }
        for root in roots { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        let gone = try store.reserve(key: "gone", rootPath: roots[0], range: .full, inUse: [])
        let alive = try store.reserve(key: "alive", rootPath: roots[1], range: .full, inUse: [])
        _ = try store.reserve(key: "pod", rootPath: roots[2], range: .full, inUse: [])
        _ = try store.reserve(key: "pod", rootPath: roots[3], range: .full, inUse: [])
        _ = try store.reserve(key: "rootless", rootPath: nil, range: .full, inUse: [])
        #expect(try store.collectGarbage().isEmpty)
        try FileManager.default.removeItem(atPath: roots[0])
        try FileManager.default.removeItem(atPath: roots[2])
        let events = try store.collectGarbage()
        #expect(events.map(\.kind).sorted { "\($0)" < "\($1)" } == [.prunedRoots, .released])
        #expect(events.first { $0.kind == .released }?.level == gone.description)
        let rows = try store.list()
        #expect(rows.compactMap(\.key).sorted() == ["alive", "pod", "rootless"])
        #expect(rows.first { $0.key == "pod" }?.roots == [roots[3]])
        #expect(rows.first { $0.key == "alive" }?.level == alive)
        #expect(!dir.exists("levels/\(gone)"))
    }

    @Test("gc repairs every leftover of an interrupted reserve or release, and only those")
    func gcRepairsCrashLeftovers() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let kept = try store.reserve(key: "kept", rootPath: nil, range: .full, inUse: [])
        // Interrupted reserve: level renamed into place, record never written.
        try dir.mkdir("levels/s0:c1,c2")
        try dir.write("levels/s0:c1,c2/orphan", "")
        // Interrupted release: holder gone, record left.
        try dir.write("keys/stale", "svirt-hook reservation 1\nkey stale\nlevel s0:c3,c4\nsince 1\n")
        // Interrupted release: holder and record gone, directory left.
        try dir.mkdir("levels/s0:c5,c6")
        // Killed before the rename, and while writing a record (pid 4194305 > pid_max).
        try dir.mkdir("tmp/4194305.00ff")
        try dir.write("tmp/4194305.00ff/x", "")
        try dir.write("keys/.x.svirt-4194305-1f2e", "half")
        // A lock file of a reservation that died before its record.
        try dir.write("keys/empty", "")
        // A temporary of a live process (ours) is not touched.
        try dir.mkdir("tmp/\(getpid()).abcd")

        #expect(Set(try store.list().map(\.state)) == [.held, .orphanHolder, .staleRecord, .emptyLevel])
        let kinds = try store.collectGarbage().map(\.kind)
        #expect(kinds.filter { $0 == .orphanHolder }.count == 1)
        #expect(kinds.filter { $0 == .staleRecord }.count == 1)
        #expect(kinds.filter { $0 == .emptyLevel }.count == 2)
        #expect(kinds.filter { $0 == .temporary }.count == 2)
        #expect(try dir.entries("levels") == [kept.description])
        #expect(try dir.entries("keys") == ["kept"])
        #expect(try dir.entries("tmp") == ["\(getpid()).abcd"])
        #expect(try store.list().map(\.state) == [.held])
        #expect(try store.collectGarbage().isEmpty)
    }

    @Test("a stale record gets its old level back when it is still free")
    func staleRecordRepaired() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let l = try store.reserve(key: "a", rootPath: nil, range: .full, inUse: [])
        try FileManager.default.removeItem(atPath: dir.path + "/state/levels/\(l)")
        #expect(try store.reserve(key: "a", rootPath: nil, range: .full, inUse: []) == l)
        #expect(try dir.entries("levels/\(l)") == ["a"])
    }

    @Test("a corrupt record is an error naming it, is listed and kept by gc, and release removes it with the key's holders")
    func corruptRecord() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let held = try store.reserve(key: "bad", rootPath: nil, range: .full, inUse: [])
        let other = try store.reserve(key: "other", rootPath: nil, range: .full, inUse: [])
        try dir.write("keys/bad", "svirt-hook reservation 1\nkey ba") // truncated
        let error = #expect(throws: ReservationError.self) {
            try store.reserve(key: "bad", rootPath: nil, range: .full, inUse: [])
        }
        #expect(error?.description.contains("/keys/bad") == true)
        #expect(try store.list().contains { if case .corrupt = $0.state { true } else { false } })
        #expect(try store.collectGarbage().map(\.kind) == [.corruptKept])
        let result = try store.releaseKey("bad")
        #expect(result.levels == [held.description])
        #expect(result.corruptRecord?.contains("/keys/bad") == true)
        // Nothing left orphaned, and the other key is untouched.
        #expect(!dir.exists("levels/\(held)"))
        #expect(try store.list().map(\.key) == ["other"])
        #expect(try dir.entries("levels") == [other.description])
        #expect(try store.collectGarbage().isEmpty)
    }

    @Test("opening without create: a missing directory, or one that is no store, is notFound and nothing is created")
    func openWithoutCreating() throws {
        let dir = try StateDir()
        let missing = dir.path + "/no/such/state"
        let error = #expect(throws: ReservationError.self) { try ReservationStore(directory: missing, create: false) }
        #expect(error?.kind == .notFound)
        #expect(error?.description.contains(missing) == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/no"))
        // An existing directory that is not a store (a mistyped path) gets no layout.
        let other = #expect(throws: ReservationError.self) { try ReservationStore(directory: dir.path, create: false) }
        #expect(other?.kind == .notFound)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/levels"))
        // Once created, it opens, and works without tmp/.
        let l = try dir.store().reserve(key: "a", rootPath: nil, range: .full, inUse: [])
        try FileManager.default.removeItem(atPath: dir.path + "/state/tmp")
        let store = try ReservationStore(directory: dir.path + "/state", create: false)
        #expect(try store.list().map(\.level) == [l])
        #expect(try store.collectGarbage().isEmpty)
        #expect(try store.release(key: "a") == [l])
    }

    @Test("relative root paths are refused, and a relative root already recorded is never judged gone")
    func relativeRoots() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let error = #expect(throws: ReservationError.self) {
            try store.reserve(key: "a", rootPath: "no/such/root", range: .full, inUse: [])
        }
        #expect(error?.kind == .invalid)
        #expect(throws: ReservationError.self) { try store.claim(try level("s0:c1,c2"), key: "b", rootPath: "rel") }
        #expect(!dir.exists("keys/a") && !dir.exists("keys/b"))
        // A record written by an older version with a relative root.
        try dir.mkdir("levels/s0:c3,c4")
        try dir.write("levels/s0:c3,c4/old", "")
        try dir.write("keys/old", "svirt-hook reservation 1\nkey old\nlevel s0:c3,c4\nsince 1\nroot no/such/root\n")
        #expect(try store.collectGarbage().isEmpty)
        #expect(try store.list().map(\.state) == [.held])
    }

    @Test("a directory, a symbolic link or a FIFO in keys/ is listed as corrupt and kept by gc; the rest is still listed and collected")
    func strayKeyEntries() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let root = dir.path + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let gone = try store.reserve(key: "gone", rootPath: root, range: .full, inUse: [])
        let kept = try store.reserve(key: "kept", rootPath: nil, range: .full, inUse: [])
        try FileManager.default.removeItem(atPath: root)
        try dir.mkdir("keys/adir")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/state/keys/alink", withDestinationPath: dir.path + "/state/keys/kept")
        #expect(mkfifo(dir.path + "/state/keys/afifo", 0o644) == 0)
        let rows = try store.list()
        let corrupt = rows.filter { if case .corrupt = $0.state { true } else { false } }
        #expect(corrupt.compactMap(\.key).sorted() == ["adir", "afifo", "alink"])
        #expect(rows.filter { $0.state == .held }.compactMap(\.key).sorted() == ["gone", "kept"])
        let events = try store.collectGarbage()
        #expect(events.filter { $0.kind == .corruptKept }.compactMap(\.key).sorted() == ["adir", "afifo", "alink"])
        #expect(events.first { $0.key == "adir" }?.description == "kept corrupt entry key adir (corrupt entry \(dir.path)/state/keys/adir: a directory, not a record)")
        #expect(events.contains { $0.kind == .released && $0.level == gone.description })
        #expect(try dir.entries("keys") == ["adir", "afifo", "alink", "kept"])
        #expect(try dir.entries("levels") == [kept.description])
        // reserve and release of such a key fail naming it, and delete nothing.
        let error = #expect(throws: ReservationError.self) { try store.release(key: "adir") }
        #expect(error?.description.contains("keys/adir") == true)
        #expect(throws: ReservationError.self) { try store.reserve(key: "alink", rootPath: nil, range: .full, inUse: []) }
        #expect(dir.exists("keys/adir") && dir.exists("keys/kept"))
    }

    @Test("a subdirectory or link inside a level directory is kept as corrupt by gc, which leaves no lock file behind")
    func strayHolderEntries() throws {
        let dir = try StateDir()
        let store = try dir.store()
        try dir.mkdir("levels/s0:c1,c2/sub")
        try dir.write("levels/s0:c1,c2/sub/inside", "")
        try dir.mkdir("levels/s0:c3,c4")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/state/levels/s0:c3,c4/lnk", withDestinationPath: "/etc/hostname")
        try dir.mkdir("levels/s0:c5,c6")
        try dir.write("levels/s0:c5,c6/orphan", "")
        let rows = try store.list()
        #expect(rows.filter { if case .corrupt = $0.state { true } else { false } }.compactMap(\.key).sorted() == ["lnk", "sub"])
        #expect(rows.filter { $0.state == .orphanHolder }.compactMap(\.key) == ["orphan"])
        let events = try store.collectGarbage()
        #expect(events.filter { $0.kind == .corruptKept }.compactMap(\.key).sorted() == ["lnk", "sub"])
        #expect(events.contains { $0.kind == .orphanHolder && $0.key == "orphan" })
        #expect(try dir.entries("keys").isEmpty, "no lock file left for any holder name")
        #expect(dir.exists("levels/s0:c1,c2/sub/inside"))
        #expect(dir.exists("levels/s0:c3,c4/lnk"))
        #expect(FileManager.default.fileExists(atPath: "/etc/hostname"))
        #expect(try dir.entries("levels") == ["s0:c1,c2", "s0:c3,c4"])
    }

    @Test("gc never follows a link in levels/ or tmp/: files outside the store survive")
    func linksNotFollowed() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let outside = dir.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: outside + "/victim"))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/state/levels/s0:c1,c2", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/state/tmp/4194305.ab", withDestinationPath: outside)
        let events = try store.collectGarbage()
        #expect(events.contains { $0.kind == .corruptKept && $0.level == "s0:c1,c2" })
        #expect(FileManager.default.fileExists(atPath: outside + "/victim"))
        #expect(try store.list().contains { if case .corrupt = $0.state { $0.levelName == "s0:c1,c2" } else { false } })
        #expect(throws: ReservationError.self) { try store.release(level: try level("s0:c1,c2")) }
        #expect(FileManager.default.fileExists(atPath: outside + "/victim"))
        #expect(try dir.entries("keys").isEmpty)
    }

    @Test("a range whose only pair is c1022,c1023 says so instead of claiming every level is held")
    func onlyPrivilegedPair() throws {
        let dir = try StateDir()
        let error = #expect(throws: ReservationError.self) {
            try dir.store().reserve(key: "a", rootPath: nil, range: CategoryRange(lower: 1022, upper: 1023), inUse: [])
        }
        #expect(error?.kind == .exhausted)
        #expect(error?.description.contains("s0:c1022,c1023") == true)
        #expect(error?.description.contains("held") == false)
        #expect(try dir.entries("keys").isEmpty)
    }

    @Test("a state directory that is not a directory, or whose parts are not, fails with the path")
    func corruptLayout() throws {
        let dir = try StateDir()
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path + "/file"))
        let error = #expect(throws: ReservationError.self) { try ReservationStore(directory: dir.path + "/file") }
        #expect(error?.description.contains(dir.path + "/file") == true)
        try dir.mkdir("")
        try dir.write("levels", "not a dir")
        let error2 = #expect(throws: ReservationError.self) { try dir.store() }
        #expect(error2?.description.contains("/state/levels") == true)
        #expect(error2?.description.contains("Not a directory") == true)
        // A level entry that is a file does not crash listing or gc.
        try FileManager.default.removeItem(atPath: dir.path + "/state/levels")
        let store = try dir.store()
        try dir.write("levels/s0:c1,c2", "")
        _ = try store.list()
        #expect(try store.collectGarbage().map(\.kind) == [.corruptKept])
    }

    @Test("keys longer than a file name work and stay distinct")
    func longKeys() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let a = String(repeating: "k", count: 3000) + "a"
        let b = String(repeating: "k", count: 3000) + "b"
        let la = try store.reserve(key: a, rootPath: nil, range: .full, inUse: [])
        let lb = try store.reserve(key: b, rootPath: nil, range: .full, inUse: [])
        #expect(la != lb)
        #expect(try store.reserve(key: a, rootPath: nil, range: .full, inUse: []) == la)
        #expect(try store.list().compactMap(\.key).sorted() == [a, b])
    }

    @Test("a read-only state directory: existing reservations still read, new ones fail with EROFS and the path")
    func readOnly() throws {
        let dir = try StateDir()
        let mountPoint = dir.path + "/state"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m") == 0, "needs root: mount tmpfs")
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let existing = try dir.store().reserve(key: "a", rootPath: nil, range: .full, inUse: [])
        // EBUSY while a child spawned by a parallel test still shares our
        // descriptor table between its fork and exec: retry briefly.
        var remounted = mount("none", mountPoint, nil, UInt(MS_REMOUNT | MS_RDONLY), nil) == 0
        for _ in 0..<100 where !remounted && errno == EBUSY {
            usleep(20_000)
            remounted = mount("none", mountPoint, nil, UInt(MS_REMOUNT | MS_RDONLY), nil) == 0
        }
        try #require(remounted, "remount read-only: \(String(cString: strerror(errno)))")
        let store = try dir.store()
        #expect(try store.reserve(key: "a", rootPath: nil, range: .full, inUse: []) == existing)
        #expect(try store.list().count == 1)
        let error = #expect(throws: ReservationError.self) {
            try store.reserve(key: "b", rootPath: nil, range: .full, inUse: [])
        }
        #expect(error?.description.contains(mountPoint) == true)
        #expect(error?.description.contains("Read-only file system") == true)
        guard case .io(let cause)? = error?.kind else { Issue.record("not an I/O error"); return }
        #expect(cause.errno == .readOnlyFileSystem)
        #expect(throws: ReservationError.self) { try store.release(key: "a") }
    }

    @Test("running processes' levels are read from their contexts; contexts without categories give none")
    func runningLevels() throws {
        #expect(RunningLevels.levelsOf(context: Array("system_u:system_r:container_t:s0:c1,c2\0".utf8)) == [try level("s0:c1,c2")])
        #expect(RunningLevels.levelsOf(context: Array("u:r:t:s0-s0:c0.c1023\n".utf8)) == [try level("s0:c0.c1023")])
        #expect(RunningLevels.levelsOf(context: Array("kernel\0".utf8)).isEmpty)
        #expect(RunningLevels.levelsOf(context: Array("u:r:t:s0".utf8)).isEmpty)
        let dir = try StateDir()
        let proc = dir.path + "/proc"
        for (pid, context) in [("1", "u:r:t:s0:c4,c5\0"), ("22", "u:r:t:s0:c6,c7"), ("self", "u:r:t:s0:c8,c9")] {
            try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)/attr", withIntermediateDirectories: true)
            try Data(context.utf8).write(to: URL(fileURLWithPath: "\(proc)/\(pid)/attr/current"))
        }
        try FileManager.default.createDirectory(atPath: "\(proc)/33", withIntermediateDirectories: true)
        #expect(RunningLevels.scan(proc: proc) == [try level("s0:c4,c5"), try level("s0:c6,c7")])
    }
}

@Suite("ReservationStore: holders in list")
struct ReservationHolderTests {
    @Test("list shows the holder a reserve or claim recorded; a record without one gets it from the next start")
    func listShowsHolder() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let a = try store.reserve(key: "root:/a", rootPath: "/a", holder: "podman d8a27e1982fe", range: .full, inUse: [])
        _ = try store.reserve(key: "root:/b", rootPath: "/b", range: .full, inUse: [])
        try store.claim(try level("s0:c5,c6"), key: "root:/c", rootPath: "/c", holder: "hostname web")
        var rows = Dictionary(uniqueKeysWithValues: try store.list().map { ($0.key ?? "", $0) })
        #expect(rows["root:/a"]?.holder == "podman d8a27e1982fe")
        #expect(rows["root:/a"]?.level == a)
        #expect(rows["root:/b"]?.holder == nil)
        #expect(rows["root:/c"]?.holder == "hostname web")

        _ = try store.reserve(key: "root:/b", rootPath: "/b", holder: "docker 0123456789ab", range: .full, inUse: [])
        _ = try store.reserve(key: "root:/a", rootPath: "/a", holder: "podman renamed", range: .full, inUse: [])
        rows = Dictionary(uniqueKeysWithValues: try store.list().map { ($0.key ?? "", $0) })
        #expect(rows["root:/b"]?.holder == "docker 0123456789ab")
        #expect(rows["root:/a"]?.holder == "podman d8a27e1982fe")
    }
}

@Suite("ReservationStore: a removed container's level before gc")
struct ContainerGoneTests {
    @Test("held with every root gone reads as gone; a live root, or no root recorded, does not")
    func goneWhenAllRootsGone() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let live = dir.path + "/live", removed = dir.path + "/removed"
        for p in [live, removed] { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) }
        _ = try store.reserve(key: "root:\(live)", rootPath: live, range: .full, inUse: [])
        _ = try store.reserve(key: "root:\(removed)", rootPath: removed, range: .full, inUse: [])
        _ = try store.reserve(key: "by-hand", rootPath: nil, range: .full, inUse: [])
        try FileManager.default.removeItem(atPath: removed)
        let rows = Dictionary(uniqueKeysWithValues: try store.list().map { ($0.key ?? "", $0) })
        #expect(rows["root:\(removed)"]?.containerGone == true)
        #expect(rows["root:\(live)"]?.containerGone == false)
        #expect(rows["by-hand"]?.containerGone == false)
    }
}

@Suite("ReservationStore: a claimed level other containers hold")
struct SharedClaimTests {
    @Test("claim names the other holders of the level, with their holder text; none for a level of its own")
    func claimReportsOthers() throws {
        let dir = try StateDir()
        let store = try dir.store()
        let level = try level("s0:c5,c6")
        #expect(try store.claim(level, key: "root:/a", rootPath: "/a", holder: "podman aaaaaaaaaaaa").isEmpty)
        #expect(try store.claim(level, key: "root:/a", rootPath: "/a").isEmpty, "a repeat start of the same container")
        let others = try store.claim(level, key: "root:/b", rootPath: "/b", holder: "podman bbbbbbbbbbbb")
        #expect(others == ["root:/a (podman aaaaaaaaaaaa)"])
        #expect(try store.claim(level, key: "root:/a", rootPath: "/a") == ["root:/b (podman bbbbbbbbbbbb)"])
    }
}
