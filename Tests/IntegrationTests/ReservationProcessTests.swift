import Foundation
import SVirtJSON
import Testing

/// The reservation store as separate processes use it: the built
/// `svirt-hook reserve|release|gc|list` against one state directory.
/// Processes are started with posix_spawn, stdout/stderr redirected to files
/// by the child, so the parent holds no descriptor per child and a thousand
/// can run at once.
@Suite("Reservation store across processes", .serialized)
struct ReservationProcessTests {
    /// `.build/debug/svirt-hook` next to this package, or $SVIRT_HOOK_BINARY.
    static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SVIRT_HOOK_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/svirt-hook").path
        try #require(FileManager.default.isExecutableFile(atPath: path),
                     "svirt-hook binary not found at \(path): run `swift build` first (or set SVIRT_HOOK_BINARY)")
        return path
    }

    final class Workspace {
        let path: String
        var state: String { path + "/state" }
        init() throws {
            path = NSTemporaryDirectory() + "svirt-reserve-proc-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path + "/out", withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func output(_ name: String) -> String {
            (try? String(contentsOfFile: "\(path)/out/\(name).out", encoding: .utf8)) ?? ""
        }
    }

    /// Starts `binary args...` with stdout/stderr in `out/<name>.out|.err`.
    static func spawn(_ binary: String, _ args: [String], name: String, in ws: Workspace) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "\(ws.path)/out/\(name).out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "\(ws.path)/out/\(name).err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([binary] + args).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, binary, &actions, nil, argv + [nil], environ)
        try #require(rc == 0, "posix_spawn: \(String(cString: strerror(rc)))")
        return pid
    }

    /// Waits for `pid`; the exit code, or 128+signal.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    static func run(_ binary: String, _ args: [String], name: String, in ws: Workspace) throws -> (code: Int32, out: String) {
        let code = wait(try spawn(binary, args, name: name, in: ws))
        return (code, ws.output(name))
    }

    /// `list --json` as (level, key, state) rows.
    static func list(_ binary: String, _ ws: Workspace) throws -> [(level: String, key: String, state: String)] {
        let result = try run(binary, ["list", "--json", "--state-dir", ws.state], name: "list", in: ws)
        try #require(result.code == 0, "list failed: \((try? String(contentsOfFile: "\(ws.path)/out/list.err", encoding: .utf8)) ?? "")")
        let value = try JSON.parse(Array(result.out.utf8))
        return try #require(value.arrayValue).map { row in
            (row["level"]?.stringValue ?? "?", row["key"]?.stringValue ?? "?", row["state"]?.stringValue ?? "?")
        }
    }

    @Test("1,000 processes started at once, each with its own key, get 1,000 distinct levels")
    func thousandKeys() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let count = 1000
        var pids: [pid_t] = []
        for i in 0..<count {
            pids.append(try Self.spawn(binary, ["reserve", "ctr-\(i)", "--root", ws.path, "--state-dir", ws.state], name: "r\(i)", in: ws))
        }
        let codes = pids.map(Self.wait)
        #expect(codes.allSatisfy { $0 == 0 }, "failures: \(codes.enumerated().filter { $0.element != 0 }.prefix(5).map { "\($0.offset): \($0.element) \(ws.output("r\($0.offset)"))" })")
        let printed = (0..<count).map { ws.output("r\($0)").trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(printed.allSatisfy { $0.hasPrefix("s0:c") })
        #expect(Set(printed).count == count, "levels handed out: \(Set(printed).count) distinct of \(count)")
        let rows = try Self.list(binary, ws)
        #expect(rows.count == count)
        #expect(rows.allSatisfy { $0.state == "held" })
        #expect(Set(rows.map(\.level)) == Set(printed))
        // The store agrees with what each process printed.
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.level) })
        #expect((0..<count).allSatisfy { byKey["ctr-\($0)"] == printed[$0] })
    }

    @Test("the same key from 50 processes at once gets one level")
    func sameKeyConcurrently() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let pids = try (0..<50).map {
            try Self.spawn(binary, ["reserve", "one-pod", "--root", ws.path, "--state-dir", ws.state], name: "s\($0)", in: ws)
        }
        let codes = pids.map(Self.wait)
        #expect(codes.allSatisfy { $0 == 0 })
        let printed = Set((0..<50).map { ws.output("s\($0)").trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(printed.count == 1)
        let rows = try Self.list(binary, ws)
        #expect(rows.map(\.key) == ["one-pod"])
        #expect(rows.first.map { printed.contains($0.level) } == true)
    }

    @Test("200 reserve/release processes killed with SIGKILL at random instants leave no duplicate, and gc restores a consistent store")
    func killedAtRandom() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let common = ["--root", ws.path, "--state-dir", ws.state]
        // Keys 0..<50 hold a level before the storm; the storm releases some
        // of them and reserves the others, killing every process at a random
        // instant within one typical run time.
        for i in 0..<50 { #expect(try Self.run(binary, ["reserve", "k\(i)"] + common, name: "pre\(i)", in: ws).code == 0) }
        let start = Date()
        for i in 0..<10 { _ = try Self.run(binary, ["reserve", "calibrate\(i)"] + common, name: "cal\(i)", in: ws) }
        let typical = Date().timeIntervalSince(start) / 10
        for i in 0..<10 { _ = try Self.run(binary, ["release", "calibrate\(i)"] + common.suffix(2), name: "cal\(i)", in: ws) }

        var completed: [String: String] = [:] // key -> level printed by a process that finished
        var killedEarly = 0
        let batch = 8
        for round in 0..<(200 / batch) {
            var running: [(pid: pid_t, key: String, name: String, release: Bool)] = []
            for j in 0..<batch {
                let n = round * batch + j
                let release = n % 4 == 0 && n / 4 < 50
                let key = release ? "k\(n / 4)" : "n\(n)"
                let args = release ? ["release", key, "--state-dir", ws.state] : ["reserve", key] + common
                running.append((try Self.spawn(binary, args, name: "x\(n)", in: ws), key, "x\(n)", release))
            }
            usleep(UInt32(Double.random(in: 0...(typical * 1.2)) * 1_000_000))
            for p in running { kill(p.pid, SIGKILL) }
            for p in running {
                let code = Self.wait(p.pid)
                if code == 128 + SIGKILL { killedEarly += 1; continue }
                #expect(code == 0 || (p.release && code == 6), "\(p.name) exited \(code)")
                if !p.release && code == 0 { completed[p.key] = ws.output(p.name).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
        }
        print("killed before finishing: \(killedEarly) of 200; typical run \(Int(typical * 1e6)) µs")

        func assertNoDuplicate(_ rows: [(level: String, key: String, state: String)]) {
            var holders: [String: Set<String>] = [:]
            for row in rows where row.state == "held" { holders[row.level, default: []].insert(row.key) }
            let shared = holders.filter { $0.value.count > 1 }
            #expect(shared.isEmpty, "levels held by more than one key: \(shared)")
        }
        assertNoDuplicate(try Self.list(binary, ws))

        let gc = try Self.run(binary, ["gc", "--state-dir", ws.state], name: "gc", in: ws)
        #expect(gc.code == 0)
        print("gc after the storm:\n\(gc.out)")
        let rows = try Self.list(binary, ws)
        #expect(rows.allSatisfy { $0.state == "held" }, "left after gc: \(rows.filter { $0.state != "held" })")
        assertNoDuplicate(rows)
        let files = { (dir: String) in (try? FileManager.default.contentsOfDirectory(atPath: "\(ws.state)/\(dir)")) ?? ["?"] }
        #expect(files("tmp").isEmpty)
        #expect(files("keys").allSatisfy { !$0.hasPrefix(".") })
        #expect(files("keys").count == rows.count, "a record file per held key, no lock leftovers")
        // Every process that reported a level still holds it.
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.level) })
        for (key, level) in completed { #expect(byKey[key] == level, "\(key) printed \(level) but holds \(byKey[key] ?? "nothing")") }
        #expect(try Self.run(binary, ["gc", "--state-dir", ws.state], name: "gc2", in: ws).out == "nothing to free\n")
        // Every key can reserve again and keeps what it holds.
        for (i, row) in rows.prefix(20).enumerated() {
            #expect(try Self.run(binary, ["reserve", row.key] + common, name: "again\(i)", in: ws).out == row.level + "\n")
        }
    }
}
