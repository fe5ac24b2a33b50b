import Glibc
import SVirtAllocation
import SVirtHook
import SVirtJSON
import SVirtSELinux
import SVirtSystem
import SVirtPaths

/// `svirt-hook list|release|gc|reserve`: the reservation store by hand.
/// Output is for people by default (aligned columns, one line per entry),
/// `--json` for scripts. Every store failure is one line on stderr and
/// exit code 6.
enum AdminCommand {
    static let usage = """
        usage: svirt-hook list [--state-dir DIR] [--json]
               svirt-hook release KEY|LEVEL [--state-dir DIR] [--json]
               svirt-hook gc [--state-dir DIR] [--json]
               svirt-hook reserve KEY [--root PATH] [--level LEVEL] [--range cA.cB] [--state-dir DIR] [--json]
        """

    static let valued: Set<String> = ["--state-dir", "--root", "--level", "--range"]

    static func run(_ arguments: [String]) -> ExitCode {
        guard let command = arguments.first else { return fail(.usage, "svirt-hook: missing command (list, release, gc, reserve)") }
        let words = Array(arguments.dropFirst())
        let args: Arguments
        do {
            args = try Arguments(words, valued: valued, booleans: ["--json", "--help"])
        } catch {
            return fail(.usage, "svirt-hook \(command): \(error.description)")
        }
        if args.has("--help") {
            print(usage)
            return .success
        }
        if let problem = usageProblem(command, args, words) {
            return fail(.usage, "svirt-hook \(command): \(problem)")
        }
        let json = args.has("--json")
        // The caller's own store by default, as the hook picks it (a user's
        // rootless containers are in their home's).
        let directory = args.value("--state-dir") ?? (try? HookCommand.callerStateDirectory()) ?? HookOptions.defaultStateDirectory
        let store: ReservationStore
        do {
            // Only reserve creates a store: reading or freeing a mistyped
            // --state-dir must not leave a new empty store behind.
            store = try ReservationStore(directory: directory, create: command == "reserve")
        } catch where error.kind == .notFound {
            if command == "release" {
                return fail(.reservation, "svirt-hook release: no reservation store at \(directory)")
            }
            // A fresh host (the hourly gc timer before any container) is
            // not an error; the line on stderr catches a mistyped path.
            ProcessInfo.writeError(printable("svirt-hook: no reservation store at \(directory)"))
            if json { emit(.array([])) }
            return .success
        } catch {
            return fail(.reservation, "svirt-hook \(command): \(error.description)")
        }
        do {
            switch command {
            case "list": return list(store, json: json)
            case "gc": return try gc(store, json: json)
            case "release": return try release(store, args.positional[0], json: json)
            default: return try reserve(store, key: args.positional[0], args, json: json)
            }
        } catch {
            return fail(.reservation, "svirt-hook \(command): \(error.description)")
        }
    }

    /// One line naming what is wrong with the command line, or nil.
    static func usageProblem(_ command: String, _ args: Arguments, _ words: [String]) -> String? {
        let wantsWord = command == "release" || command == "reserve"
        if wantsWord && args.positional.isEmpty {
            return command == "release" ? "missing KEY or LEVEL (see --help)" : "missing KEY (see --help)"
        }
        if args.positional.count > (wantsWord ? 1 : 0) {
            return "unexpected argument \(args.positional[wantsWord ? 1 : 0]) (see --help)"
        }
        if let repeated = repeatedOption(words) { return "\(repeated) given more than once" }
        for option in ["--root", "--level", "--range"] where command != "reserve" && args.value(option) != nil {
            return "\(option) applies to reserve only"
        }
        if args.value("--level") != nil && args.value("--range") != nil {
            return "--level and --range exclude each other (a claimed level is not drawn)"
        }
        // gc judges roots, and finds the store, from its own working
        // directory: a relative path would name something else there.
        for option in ["--state-dir", "--root"] {
            if let value = args.value(option), !LexicalPath.isAbsolute(value) {
                return "\(option) must be an absolute path, not \(value.isEmpty ? "an empty one" : value)"
            }
        }
        return nil
    }

    /// Arguments keeps the last of a repeated option; here a repeat is a
    /// mistake (a second --root would silently replace the first).
    static func repeatedOption(_ words: [String]) -> String? {
        var seen: Set<String> = []
        var i = 0
        while i < words.count {
            let word = words[i]
            i += 1
            if word == "--" { return nil }
            guard word.hasPrefix("--") else { continue }
            let inline = word.firstIndex(of: "=")
            let name = inline.map { String(word[..<$0]) } ?? word
            guard valued.contains(name) else { continue }
            if inline == nil { i += 1 }
            if !seen.insert(name).inserted { return name }
        }
        return nil
    }

    // MARK: - Subcommands

    private static func list(_ store: ReservationStore, json: Bool) -> ExitCode {
        let rows: [Reservation]
        do { rows = try store.list() } catch { return fail(.reservation, "svirt-hook list: \(error.description)") }
        let now = Int(ProcessInfo.realTime().seconds)
        if json {
            emit(.array(rows.map { row in
                var object = JSONObject()
                object["level"] = .string(row.level?.description ?? row.levelName)
                object["key"] = row.key.map(JSONValue.string) ?? .null
                object["holder"] = row.holder.map(JSONValue.string) ?? .null
                object["roots"] = .array(row.roots.map(JSONValue.string))
                object["since"] = row.since.map { .number(String($0)) } ?? .null
                object["age"] = row.since.map { .number(String(max(0, now - $0))) } ?? .null
                object["state"] = .string(stateName(row))
                if case .corrupt(let why) = row.state { object["error"] = .string(why) }
                return .object(object)
            }))
            return .success
        }
        var table = [["LEVEL", "KEY", "HOLDER", "AGE", "STATE", "ROOTS"]]
        for row in rows {
            table.append([
                printable(row.level?.description ?? row.levelName),
                row.key.map(printable) ?? "-",
                row.holder.map(printable) ?? "-",
                row.since.map { age(now - $0) } ?? "-",
                stateName(row),
                corruptReason(row.state).map(printable)
                    ?? (row.roots.isEmpty ? "-" : row.roots.map(printable).joined(separator: ",")),
            ])
        }
        printTable(table)
        return .success
    }

    private static func gc(_ store: ReservationStore, json: Bool) throws(ReservationError) -> ExitCode {
        let events = try store.collectGarbage()
        if json {
            emit(.array(events.map { event in
                var object = JSONObject()
                object["action"] = .string(actionName(event.kind))
                object["level"] = event.level.map(JSONValue.string) ?? .null
                object["key"] = event.key.map(JSONValue.string) ?? .null
                object["detail"] = .string(event.detail)
                return .object(object)
            }))
        } else if events.isEmpty {
            print("nothing to free")
        } else {
            for event in events { print(printable(event.description)) }
        }
        return .success
    }

    /// A word naming a key with a record is a key; otherwise a word that
    /// parses as a level is a level (keys are container identities, never
    /// level text, so the order only matters for a deliberately odd key).
    private static func release(_ store: ReservationStore, _ word: String, json: Bool) throws(ReservationError) -> ExitCode {
        var lines: [(level: String, key: String)] = []
        var corrupt: String?
        if store.holdsKey(word) {
            let result = try store.releaseKey(word)
            lines = result.levels.map { ($0, word) }
            corrupt = result.corruptRecord
        } else if let level = MCSLevel(word) {
            lines = try store.release(level: level).map { (level.description, $0) }
        }
        if lines.isEmpty && corrupt == nil {
            return fail(.reservation, "svirt-hook release: no reservation for \(word) in \(store.directory)")
        }
        if json {
            var objects = lines.map { line -> JSONValue in
                var object = JSONObject()
                object["action"] = .string("released")
                object["level"] = .string(line.level)
                object["key"] = .string(line.key)
                return .object(object)
            }
            if let corrupt {
                var object = JSONObject()
                object["action"] = .string("removed-corrupt-record")
                object["level"] = .null
                object["key"] = .string(word)
                object["error"] = .string(corrupt)
                objects.append(.object(object))
            }
            emit(.array(objects))
        } else {
            for line in lines { print(printable("released \(line.level) key \(line.key)")) }
            if let corrupt { print(printable("removed \(corrupt)")) }
        }
        return .success
    }

    private static func reserve(_ store: ReservationStore, key: String, _ args: Arguments, json: Bool) throws(ReservationError) -> ExitCode {
        let root = args.value("--root")
        let level: MCSLevel
        if let text = args.value("--level") {
            guard let parsed = MCSLevel(text) else { return fail(.badLabel, "svirt-hook reserve: invalid level \(text)") }
            try store.claim(parsed, key: key, rootPath: root)
            level = parsed
        } else {
            var range = CategoryRange.full
            if let text = args.value("--range") {
                guard let parsed = CategoryRange(text) else { return fail(.usage, "svirt-hook reserve: invalid --range \(text) (want cA.cB)") }
                range = parsed
            }
            // As the hook does: running processes' levels count as taken,
            // but only when SELinux is on (otherwise there are none).
            // As the hook decides: levels of running processes count only
            // where SELinux labels processes at all.
            let inUse = HostPolicy.isEnabled() ? RunningLevels.scan() : []
            level = try store.reserve(key: key, rootPath: root, range: range, inUse: inUse)
        }
        if json {
            var object = JSONObject()
            object["level"] = .string(level.description)
            object["key"] = .string(key)
            emit(.object(object))
        } else {
            print(level.description)
        }
        return .success
    }

    // MARK: - Formatting

    /// `gone`: still held, but `gc` would free it (Reservation.containerGone).
    private static func stateName(_ row: Reservation) -> String {
        switch row.state {
        case .held: return row.containerGone ? "gone" : "held"
        case .staleRecord: return "stale-record"
        case .orphanHolder: return "orphan"
        case .emptyLevel: return "empty-level"
        case .corrupt: return "corrupt"
        }
    }

    private static func corruptReason(_ state: Reservation.State) -> String? {
        if case .corrupt(let why) = state { return why }
        return nil
    }

    private static func actionName(_ kind: GarbageEvent.Kind) -> String {
        switch kind {
        case .released: return "released"
        case .prunedRoots: return "pruned-roots"
        case .staleRecord: return "removed-stale-record"
        case .orphanHolder: return "removed-orphan-holder"
        case .emptyLevel: return "removed-empty-level"
        case .temporary: return "removed-temporary"
        case .corruptKept: return "kept-corrupt"
        }
    }

    private static func age(_ seconds: Int) -> String {
        let s = max(0, seconds)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 2 * 86400 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    /// Keys and paths come from container configs: control characters
    /// (C0, DEL, C1) are shown as `\xNN` and a backslash as `\\`, so that
    /// no key can garble a terminal, split a line, or pass for another.
    /// Every line the commands print about keys and paths goes through it.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else if scalar == "\\" {
                out += "\\\\"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func printTable(_ rows: [[String]]) {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            print(line)
        }
    }

    private static func emit(_ value: JSONValue) {
        var bytes = JSON.serialize(value, pretty: true)
        if bytes.last != 10 { bytes.append(10) } // pretty output already ends a line
        try? FileDescriptor.standardOutput.writeAll(bytes)
    }

    private static func fail(_ code: ExitCode, _ message: String) -> ExitCode {
        ProcessInfo.writeError(printable(message))
        return code
    }
}
