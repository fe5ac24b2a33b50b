import Glibc
import SVirtSELinux
import SVirtSystem
import SVirtPaths

/// One row of `list`: a key holding a level, or an entry a crash or a
/// hand edit left behind.
public struct Reservation: Equatable, Sendable {
    public enum State: Hashable, Sendable {
        /// The key holds the level (record and holder agree).
        case held
        /// A record whose level lacks the key as holder (interrupted release).
        case staleRecord
        /// A holder without a record pointing at its level (interrupted reserve).
        case orphanHolder
        /// A level directory without holders (interrupted release).
        case emptyLevel
        /// A record that does not parse; the reason.
        case corrupt(String)
    }

    /// The level's directory name (the level's text for every level the
    /// store creates itself).
    public var levelName: String
    public var level: MCSLevel?
    public var key: String?
    public var roots: [String]
    /// Seconds since the epoch when the key got the level.
    public var since: Int?
    public var state: State
    /// Who holds it (a pod, a container id or hostname), when its record
    /// says.
    public var holder: String? = nil

    /// Held by a key whose every recorded root is gone: the container was
    /// removed and nothing ran at its end (Docker runs no poststop hook),
    /// so the level waits for `gc`. Judged as gc judges (rootExists).
    public var containerGone: Bool {
        state == .held && !roots.isEmpty && !roots.contains(where: ReservationStore.rootExists)
    }
}

/// What gc did, one line each for `svirt-hook gc`.
public struct GarbageEvent: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Every root of the key is gone; its level was released.
        case released
        /// Some roots of a key were gone and were dropped from its record.
        case prunedRoots
        case staleRecord
        case orphanHolder
        case emptyLevel
        case temporary
        /// Left in place for the administrator.
        case corruptKept
    }

    public var kind: Kind
    public var level: String?
    public var key: String?
    public var detail: String

    public var description: String {
        let what: String
        switch kind {
        case .released: what = "freed"
        case .prunedRoots: what = "pruned roots of"
        case .staleRecord: what = "removed stale record of"
        case .orphanHolder: what = "removed orphan holder of"
        case .emptyLevel: what = "freed empty level"
        case .temporary: what = "removed temporary"
        case .corruptKept: what = "kept corrupt entry"
        }
        var line = what
        if let level { line += " \(level)" }
        if let key { line += " key \(key)" }
        if !detail.isEmpty { line += " (\(detail))" }
        return line
    }
}

extension ReservationStore {
    /// Every reservation and every leftover, sorted by level then key.
    /// Reads without locks: records are replaced atomically, so each is
    /// seen whole, old or new.
    public func list() throws(ReservationError) -> [Reservation] {
        var rows: [Reservation] = []
        let holders = try levelHolders(&rows)
        var matched: Set<String> = [] // "level/holder"
        let keyNames: [String]
        do { keyNames = try Files.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where !name.hasPrefix(".") {
            guard let row = try keyRow(name, holders: holders) else { continue }
            if row.state == .held { matched.insert("\(row.levelName)/\(name)") }
            rows.append(row)
        }
        for (levelName, names) in holders {
            let level = EntryName.decode(levelName).flatMap { MCSLevel($0) }
            if names.isEmpty {
                rows.append(Reservation(levelName: levelName, level: level, key: nil, roots: [], since: nil, state: .emptyLevel))
            }
            for name in names where !matched.contains("\(levelName)/\(name)") {
                if Files.nonRegularKind("\(levelsPath)/\(levelName)/\(name)") != nil { continue } // listed as corrupt
                rows.append(Reservation(levelName: levelName, level: level, key: EntryName.decode(name) ?? name, roots: [], since: nil, state: .orphanHolder))
            }
        }
        rows.sort { ($0.levelName, $0.key ?? "", Self.stateOrder($0.state)) < ($1.levelName, $1.key ?? "", Self.stateOrder($1.state)) }
        return rows
    }

    /// Every level directory's holder names; what is not a level directory
    /// or a holder file goes into `rows` as corrupt.
    private func levelHolders(_ rows: inout [Reservation]) throws(ReservationError) -> [String: Set<String>] {
        var holders: [String: Set<String>] = [:]
        let levelNames: [String]
        do { levelNames = try Files.entries(levelsPath) } catch { throw .io(error) }
        for levelName in levelNames where !levelName.hasPrefix(".") {
            let dir = "\(levelsPath)/\(levelName)"
            let level = EntryName.decode(levelName).flatMap { MCSLevel($0) }
            if let kind = Files.nonRegularKind(dir), kind != "a directory" {
                rows.append(Reservation(levelName: levelName, level: level, key: nil, roots: [], since: nil, state: .corrupt("\(dir): \(kind), not a level directory")))
                continue
            }
            let names: [String]
            do { names = try Files.entries(dir, noFollow: true) } catch where error.errno == .noEntry {
                continue
            } catch where error.errno == .notDirectory {
                rows.append(Reservation(levelName: levelName, level: level, key: nil, roots: [], since: nil, state: .corrupt("\(dir): not a level directory")))
                continue
            } catch { throw .io(error) }
            // A holder that is not a file is reported, and still counts as
            // a holder as it does for `reserve` (the level stays taken).
            for name in names {
                if let kind = Files.nonRegularKind("\(dir)/\(name)") {
                    rows.append(Reservation(levelName: levelName, level: level, key: EntryName.decode(name) ?? name, roots: [], since: nil, state: .corrupt("\(dir)/\(name): \(kind), not a holder file")))
                }
            }
            holders[levelName] = Set(names)
        }
        return holders
    }

    /// keys/NAME as a row: held when its level lists it as holder, a stale
    /// record otherwise, corrupt when it does not parse; nil for a lock
    /// file of a reservation in progress or a record removed meanwhile.
    private func keyRow(_ name: String, holders: [String: Set<String>]) throws(ReservationError) -> Reservation? {
        let path = "\(keysPath)/\(name)"
        if let kind = Files.nonRegularKind(path) {
            return Reservation(levelName: "?", level: nil, key: EntryName.decode(name) ?? name, roots: [], since: nil, state: .corrupt("\(path): \(kind), not a record"))
        }
        let bytes: [UInt8]
        do { bytes = try Files.readSmall(path) } catch where error.errno == .noEntry {
            return nil
        } catch { throw .io(error) }
        if bytes.isEmpty { return nil }
        let record: KeyRecord
        do { record = try KeyRecord(parsing: bytes) } catch {
            guard case .malformed(let why) = error else { return nil }
            return Reservation(levelName: "?", level: nil, key: EntryName.decode(name) ?? name, roots: [], since: nil, state: .corrupt("\(path): \(why)"))
        }
        let levelName = EntryName.encode(record.level.description)
        let held = holders[levelName]?.contains(name) ?? false
        return Reservation(levelName: levelName, level: record.level, key: record.key, roots: record.roots, since: record.since,
                           state: held ? .held : .staleRecord, holder: record.holder)
    }

    private static func stateOrder(_ state: Reservation.State) -> Int {
        if case .corrupt = state { return 1 }
        return 0
    }

    /// Frees every key holding `level` (admin `release LEVEL`). Returns the
    /// keys released (a holder without a record counts by its entry name).
    /// A holder entry that is not a file is left in place (list and gc
    /// report it).
    public func release(level: MCSLevel) throws(ReservationError) -> [String] {
        let dir = levelPath(level)
        if let kind = Files.nonRegularKind(dir), kind != "a directory" {
            throw .corrupt(dir, "\(kind), not a level directory")
        }
        let names: [String]
        do { names = try Files.entries(dir, noFollow: true) } catch where error.errno == .noEntry {
            return []
        } catch { throw .io(error) }
        var released: [String] = []
        for name in names {
            let holder = "\(dir)/\(name)"
            if Files.nonRegularKind(holder) != nil { continue }
            let lock: KeyLock?
            do { lock = try lockKey(name, wait: true, create: true) } catch {
                guard case .corrupt = error.kind else { throw error }
                // keys/<name> is not a record: free the level, keep that entry.
                do { try Files.remove(holder, missingOK: true) } catch { throw .io(error) }
                released.append(EntryName.decode(name) ?? name)
                continue
            }
            guard let lock else { continue }
            defer {
                dropEmptyLock(lock, name: name)
                lock.release()
            }
            let record = try? readRecord(lock, name: name, expecting: nil)
            if let record, record.level == level {
                _ = try releaseLocked(name: name, record: record)
                released.append(record.key)
            } else {
                do { try Files.remove(holder, missingOK: true) } catch { throw .io(error) }
                released.append(EntryName.decode(name) ?? name)
            }
        }
        try? Files.removeDirectory(dir) // others still hold it
        do { try Files.fsyncDirectory(levelsPath) } catch { throw .io(error) }
        return released
    }

    /// Removes every holder file named `name` (levels/*/<name>), and each
    /// level left empty: for a key whose record cannot say which level it
    /// holds. Level entries that are not directories are not looked into.
    /// Returns the levels (as text) it was removed from.
    func removeHolderFiles(_ name: String) throws(ReservationError) -> [String] {
        let levelNames: [String]
        do { levelNames = try Files.entries(levelsPath) } catch { throw .io(error) }
        var removed: [String] = []
        for levelName in levelNames where !levelName.hasPrefix(".") {
            let dir = "\(levelsPath)/\(levelName)"
            guard Files.nonRegularKind(dir) == "a directory" else { continue }
            let holder = "\(dir)/\(name)"
            guard Files.exists(holder), Files.nonRegularKind(holder) == nil else { continue }
            do { try Files.remove(holder) } catch where error.errno == .noEntry {
                continue
            } catch { throw .io(error) }
            try? Files.removeDirectory(dir) // others still hold it
            removed.append(EntryName.decode(levelName) ?? levelName)
        }
        if !removed.isEmpty {
            do { try Files.fsyncDirectory(levelsPath) } catch { throw .io(error) }
        }
        return removed
    }

    /// Frees gone keys and repairs what interrupted operations left. Skips
    /// any key another process has locked (its operation is in progress).
    /// Entries it does not understand (a directory or link where a record
    /// or holder file belongs) are reported as `.corruptKept` and left.
    public func collectGarbage() throws(ReservationError) -> [GarbageEvent] {
        var events: [GarbageEvent] = []
        try removeDeadTemporaries(&events)
        let keyNames: [String]
        do { keyNames = try Files.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where !name.hasPrefix(".") { try collectKey(name, &events) }
        let levelNames: [String]
        do { levelNames = try Files.entries(levelsPath) } catch { throw .io(error) }
        for levelName in levelNames where !levelName.hasPrefix(".") { try collectLevel(levelName, &events) }
        do {
            try Files.fsyncDirectory(levelsPath)
            try Files.fsyncDirectory(keysPath)
        } catch { throw .io(error) }
        return events
    }

    /// One key, under its lock: a record whose level lacks it as holder is
    /// stale; a record whose every root is gone frees its level; one with
    /// some roots gone forgets those.
    private func collectKey(_ name: String, _ events: inout [GarbageEvent]) throws(ReservationError) {
        let lock: KeyLock?
        do { lock = try lockKey(name, wait: false, create: false) } catch {
            guard case .corrupt = error.kind else { throw error }
            events.append(GarbageEvent(kind: .corruptKept, level: nil, key: EntryName.decode(name) ?? name, detail: error.detail))
            return
        }
        guard let lock else { return }
        defer { lock.release() }
        let record: KeyRecord?
        do { record = try readRecord(lock, name: name, expecting: nil) } catch {
            guard case .corrupt = error.kind else { throw error }
            events.append(GarbageEvent(kind: .corruptKept, level: nil, key: EntryName.decode(name) ?? name, detail: error.detail))
            return
        }
        guard var record else {
            dropEmptyLock(lock, name: name)
            return
        }
        if !holderExists(record.level, name) {
            _ = try releaseLocked(name: name, record: nil)
            events.append(GarbageEvent(kind: .staleRecord, level: record.level.description, key: record.key, detail: "level was not held"))
            return
        }
        let gone = record.roots.filter { !Self.rootExists($0) }
        if gone.isEmpty { return }
        if gone.count == record.roots.count {
            _ = try releaseLocked(name: name, record: record)
            events.append(GarbageEvent(kind: .released, level: record.level.description, key: record.key, detail: "gone: " + gone.joined(separator: " ")))
        } else {
            record.roots.removeAll { gone.contains($0) }
            try writeRecord(record, name: name)
            events.append(GarbageEvent(kind: .prunedRoots, level: record.level.description, key: record.key, detail: "gone: " + gone.joined(separator: " ")))
        }
    }

    /// One level directory: holders no record points at are orphans of an
    /// interrupted reserve; a directory left without holders is freed.
    private func collectLevel(_ levelName: String, _ events: inout [GarbageEvent]) throws(ReservationError) {
        let dir = "\(levelsPath)/\(levelName)"
        if let kind = Files.nonRegularKind(dir), kind != "a directory" {
            events.append(GarbageEvent(kind: .corruptKept, level: levelName, key: nil, detail: "\(dir) is \(kind), not a level directory"))
            return
        }
        let names: [String]
        do { names = try Files.entries(dir, noFollow: true) } catch where error.errno == .noEntry {
            return
        } catch where error.errno == .notDirectory {
            events.append(GarbageEvent(kind: .corruptKept, level: levelName, key: nil, detail: "\(dir) is not a directory"))
            return
        } catch { throw .io(error) }
        var removed = 0
        for name in names where try removeOrphanHolder(name, levelName: levelName, dir: dir, &events) { removed += 1 }
        if removed == names.count && (try? Files.removeDirectory(dir)) != nil {
            events.append(GarbageEvent(kind: .emptyLevel, level: levelName, key: nil, detail: ""))
        }
    }

    /// Removes levels/LEVEL/NAME when NAME's record does not point at LEVEL;
    /// whether it was removed.
    private func removeOrphanHolder(_ name: String, levelName: String, dir: String,
                                    _ events: inout [GarbageEvent]) throws(ReservationError) -> Bool {
        let holder = "\(dir)/\(name)"
        // Checked before locking, so no lock file is created for it.
        if let kind = Files.nonRegularKind(holder) {
            events.append(GarbageEvent(kind: .corruptKept, level: levelName, key: EntryName.decode(name) ?? name, detail: "\(holder) is \(kind), not a holder file"))
            return false
        }
        let lock: KeyLock?
        do { lock = try lockKey(name, wait: false, create: true) } catch {
            guard case .corrupt = error.kind else { throw error }
            return false // keys/<name> reported above; its holder stays until an admin decides
        }
        guard let lock else { return false }
        // Every exit drops the lock file this may have created.
        defer {
            dropEmptyLock(lock, name: name)
            lock.release()
        }
        let record: KeyRecord?
        do { record = try readRecord(lock, name: name, expecting: nil) } catch {
            guard case .corrupt = error.kind else { throw error }
            return false // reported above; its holder stays until an admin decides
        }
        if let record, EntryName.encode(record.level.description) == levelName { return false }
        do {
            try Files.remove(holder)
        } catch where error.errno == .noEntry {
            return false
        } catch { throw .io(error) }
        events.append(GarbageEvent(kind: .orphanHolder, level: levelName, key: EntryName.decode(name) ?? name, detail: "no record points here"))
        return true
    }

    /// A root is gone only when it certainly does not exist; an unreadable
    /// parent (EACCES) or an I/O error keeps the reservation. gc and the
    /// poststop hook both decide with this.
    /// A relative path cannot be judged (it would be taken against gc's
    /// working directory) and counts as existing.
    public static func rootExists(_ path: String) -> Bool {
        guard LexicalPath.isAbsolute(path) else { return true }
        do {
            _ = try Files.status(path, followingLinks: false)
            return true
        } catch {
            return error.errno != .noEntry && error.errno != .notDirectory
        }
    }

    /// Removes a record file that is empty (left by a lock of a reservation
    /// that never wrote a record), while still holding its lock.
    func dropEmptyLock(_ lock: KeyLock, name: String) {
        if let st = try? lock.fd.status(), st.st_size == 0 {
            try? Files.remove("\(keysPath)/\(name)")
        }
    }

    /// `tmp/<pid>.<random>` of dead processes, and record temporaries
    /// (`Files.replaceAtomically`'s `keys/.<name>.svirt-<pid>-<random>`) of
    /// dead processes.
    private func removeDeadTemporaries(_ events: inout [GarbageEvent]) throws(ReservationError) {
        let temporaries: [String]
        do { temporaries = try Files.entries(tmpPath) } catch where error.errno == .noEntry {
            temporaries = [] // a store opened without creating may lack tmp/
        } catch { throw .io(error) }
        for name in temporaries {
            guard let pid = name.split(separator: ".").first.flatMap({ Int32($0) }), !ProcessInfo.processExists(pid) else { continue }
            let dir = "\(tmpPath)/\(name)"
            // Not through a link: its target is outside the store.
            for inner in (try? Files.entries(dir, noFollow: true)) ?? [] { try? Files.remove("\(dir)/\(inner)") }
            if (try? Files.removeDirectory(dir)) != nil || (try? Files.remove(dir)) != nil {
                events.append(GarbageEvent(kind: .temporary, level: nil, key: nil, detail: dir))
            }
        }
        let keyNames: [String]
        do { keyNames = try Files.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where name.hasPrefix(".") {
            guard let pid = Files.temporaryOwner(name), !ProcessInfo.processExists(pid) else { continue }
            if (try? Files.remove("\(keysPath)/\(name)")) != nil {
                events.append(GarbageEvent(kind: .temporary, level: nil, key: nil, detail: "\(keysPath)/\(name)"))
            }
        }
    }
}
