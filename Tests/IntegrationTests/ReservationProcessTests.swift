import Foundation
import SVirtJSON
import Testing
import TestSupport

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

        // The kill instants come from a printed seed, so a failing storm can
        // be replayed (SVIRT_TEST_SEED=N; process timing still varies).
        let seed = ProcessInfo.processInfo.environment["SVIRT_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        print("killedAtRandom seed: \(seed) (replay with SVIRT_TEST_SEED=\(seed))")
        var rng = SplitMix(seed: seed)
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
            usleep(UInt32(Double.random(in: 0...(typical * 1.2), using: &rng) * 1_000_000))
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
    @Test("admin commands exit with the documented codes and one-line errors")
    func adminExitCodes() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let state = ["--state-dir", ws.state]
        func code(_ args: [String], _ name: String) throws -> Int32 { try Self.run(binary, args, name: name, in: ws).code }
        func stderr(_ name: String) -> String {
            (try? String(contentsOfFile: "\(ws.path)/out/\(name).err", encoding: .utf8)) ?? ""
        }
        #expect(try code(["reserve"] + state, "noarg") == 2)
        #expect(try code(["list", "--bogus"] + state, "bogus") == 2)
        #expect(try code(["gc", "--root", "/x"] + state, "misplaced") == 2)
        #expect(try code(["reserve", "k", "--level", "s0:c1,,c2"] + state, "badlevel") == 4)
        #expect(try code(["reserve", "k", "--range", "c3.c3"] + state, "tiny") == 6)
        #expect(stderr("tiny").contains("c3.c3"))
        #expect(try code(["release", "nothing-here"] + state, "unknown") == 6)
        let reserved = try Self.run(binary, ["reserve", "k", "--level", "s0:c1,c2"] + state, name: "ok", in: ws)
        #expect(reserved.code == 0 && reserved.out == "s0:c1,c2\n")
        #expect(try Self.run(binary, ["release", "s0:c1,c2"] + state, name: "rel", in: ws).out == "released s0:c1,c2 key k\n")
        try Data("x".utf8).write(to: URL(fileURLWithPath: ws.path + "/file"))
        #expect(try code(["list", "--state-dir", ws.path + "/file"], "notdir") == 6)
        let message = stderr("notdir")
        #expect(message.contains(ws.path + "/file") && message.split(separator: "\n").count == 1)
    }
    @Test("gc running alongside 120 reservations and releases never frees a live reservation")
    func gcConcurrentWithReservations() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let common = ["--root", ws.path, "--state-dir", ws.state]
        // Half the keys held before, then released during the run; their
        // levels may be redrawn by the others, never shared.
        for i in 0..<30 { #expect(try Self.run(binary, ["reserve", "old\(i)"] + common, name: "old\(i)", in: ws).code == 0) }
        var pids: [(pid: pid_t, name: String)] = []
        for i in 0..<120 {
            pids.append((try Self.spawn(binary, ["reserve", "c\(i)"] + common, name: "c\(i)", in: ws), "c\(i)"))
            if i % 4 == 0 {
                pids.append((try Self.spawn(binary, ["release", "old\(i / 4)", "--state-dir", ws.state], name: "rel\(i)", in: ws), "rel\(i)"))
            }
            if i % 10 == 0 {
                pids.append((try Self.spawn(binary, ["gc", "--state-dir", ws.state], name: "gc\(i)", in: ws), "gc\(i)"))
            }
        }
        for p in pids { #expect(Self.wait(p.pid) == 0, "\(p.name): \(ws.output(p.name))") }
        let rows = try Self.list(binary, ws)
        #expect(rows.allSatisfy { $0.state == "held" })
        #expect(Set(rows.map(\.level)).count == rows.count, "a level held by two keys")
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.level) })
        for i in 0..<120 {
            #expect(byKey["c\(i)"] == ws.output("c\(i)").trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(rows.count == 120)
    }

    static func stderr(_ name: String, _ ws: Workspace) -> String {
        (try? String(contentsOfFile: "\(ws.path)/out/\(name).err", encoding: .utf8)) ?? ""
    }

    @Test("list and gc on a missing store say so in one line and exit 0 with no output; release exits 6; none creates it")
    func missingStore() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let missing = ws.path + "/typo/state"
        for command in ["list", "gc"] {
            let result = try Self.run(binary, [command, "--state-dir", missing], name: command, in: ws)
            #expect(result.code == 0)
            #expect(result.out.isEmpty)
            #expect(Self.stderr(command, ws) == "svirt-hook: no reservation store at \(missing)\n")
        }
        #expect(try Self.run(binary, ["list", "--json", "--state-dir", missing], name: "json", in: ws).out == "[]\n")
        #expect(try Self.run(binary, ["release", "k", "--state-dir", missing], name: "release", in: ws).code == 6)
        #expect(Self.stderr("release", ws).split(separator: "\n").count == 1)
        // An existing directory that is not a store is not turned into one.
        #expect(try Self.run(binary, ["gc", "--state-dir", ws.path + "/out"], name: "gc-out", in: ws).code == 0)
        #expect(!FileManager.default.fileExists(atPath: ws.path + "/typo"))
        #expect(!FileManager.default.fileExists(atPath: ws.path + "/out/levels"))
        // reserve still creates the store.
        #expect(try Self.run(binary, ["reserve", "k", "--state-dir", missing], name: "reserve", in: ws).code == 0)
        #expect(FileManager.default.fileExists(atPath: missing + "/levels"))
    }

    @Test("poststop with a missing store releases nothing, exits 0 and creates no store")
    func poststopMissingStore() throws {
        let ws = try Workspace()
        let bundle = ws.path + "/bundle"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try Data(#"{"ociVersion":"1.0.2","root":{"path":"/nonexistent/svirt-rootfs"}}"#.utf8).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        let state = #"{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"\#(bundle)"}"#
        let missing = ws.path + "/typo/state"
        let result = try hook(["--selinux=on", "--stage", "poststop", "--state-dir", missing], stdin: Data(state.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path + "/typo"))
    }

    @Test("usage mistakes exit 2 with one line naming the problem: argument count, relative paths, repeated or conflicting options")
    func usageMistakes() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let state = ["--state-dir", ws.state]
        let cases: [(args: [String], says: String)] = [
            (["reserve"] + state, "missing KEY"),
            (["release"] + state, "missing KEY or LEVEL"),
            (["list", "extra"] + state, "unexpected argument extra"),
            (["release", "a", "b"] + state, "unexpected argument b"),
            (["list", "--state-dir", "relative/state"], "--state-dir must be an absolute path"),
            (["reserve", "k", "--root", "rel/root"] + state, "--root must be an absolute path"),
            (["reserve", "k", "--root", "/a", "--root=/b"] + state, "--root given more than once"),
            (["reserve", "k", "--level", "s0:c1,c2", "--range", "c0.c9"] + state, "--level and --range"),
        ]
        for (i, c) in cases.enumerated() {
            let result = try Self.run(binary, c.args, name: "u\(i)", in: ws)
            let message = Self.stderr("u\(i)", ws)
            #expect(result.code == 2, "\(c.args)")
            #expect(message.split(separator: "\n").count == 1 && message.contains(c.says), "\(c.args): \(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: ws.state + "/keys/k"), "nothing was reserved")
    }

    @Test("release and gc escape keys and paths as list does: a key with a newline stays on one line")
    func escapedOutput() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let key = "a\nb\\c"
        let root = ws.path + "/root\tx"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (i, k) in [key, key + "2"].enumerated() {
            #expect(try Self.run(binary, ["reserve", k, "--root", root, "--state-dir", ws.state], name: "r\(i)", in: ws).code == 0)
        }
        let list = try Self.run(binary, ["list", "--state-dir", ws.state], name: "list", in: ws)
        #expect(list.out.split(separator: "\n").count == 3)
        #expect(list.out.contains("a\\x0ab\\\\c "))
        let release = try Self.run(binary, ["release", key, "--state-dir", ws.state], name: "release", in: ws)
        #expect(release.code == 0)
        #expect(release.out.split(separator: "\n").count == 1)
        #expect(release.out.hasSuffix(" key a\\x0ab\\\\c\n"), "\(release.out)")
        try FileManager.default.removeItem(atPath: root)
        let gc = try Self.run(binary, ["gc", "--state-dir", ws.state], name: "gc", in: ws)
        #expect(gc.out.split(separator: "\n").count == 1, "\(gc.out)")
        #expect(gc.out.contains("key a\\x0ab\\\\c2 (gone: \(ws.path)/root\\x09x)"), "\(gc.out)")
    }

    @Test("release of a corrupt record says what it removed, exits 0 and leaves no orphan holder")
    func releaseCorruptRecord() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let reserved = try Self.run(binary, ["reserve", "bad", "--state-dir", ws.state], name: "r", in: ws)
        let level = reserved.out.trimmingCharacters(in: .whitespacesAndNewlines)
        try Data("svirt-hook reservation 1\nkey b".utf8).write(to: URL(fileURLWithPath: ws.state + "/keys/bad"))
        let result = try Self.run(binary, ["release", "bad", "--state-dir", ws.state], name: "rel", in: ws)
        #expect(result.code == 0, "\(Self.stderr("rel", ws))")
        #expect(result.out.contains("released \(level) key bad\n"))
        #expect(result.out.contains("removed corrupt entry \(ws.state)/keys/bad"))
        #expect(try Self.list(binary, ws).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(ws.state)/levels/\(level)"))
    }

    @Test("reserve --range c1022.c1023 says its only pair is never handed out")
    func onlyPrivilegedPair() throws {
        let binary = try Self.binary()
        let ws = try Workspace()
        let result = try Self.run(binary, ["reserve", "k", "--range", "c1022.c1023", "--state-dir", ws.state], name: "r", in: ws)
        #expect(result.code == 6)
        let message = Self.stderr("r", ws)
        #expect(message.contains("only s0:c1022,c1023") && !message.contains("held"), "\(message)")
    }
}
