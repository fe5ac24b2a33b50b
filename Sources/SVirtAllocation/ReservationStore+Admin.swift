#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SVirtSELinux
import SVirtSystem

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
        var holders: [String: Set<String>] = [:]
        let levelNames: [String]
        do { levelNames = try StoreSystem.entries(levelsPath) } catch { throw .io(error) }
        for levelName in levelNames where !levelName.hasPrefix(".") {
            let names: [String]
            do { names = try StoreSystem.entries("\(levelsPath)/\(levelName)") } catch where error.errno == .noEntry {
                continue
            } catch where error.errno == .notDirectory {
                names = []
            } catch { throw .io(error) }
            holders[levelName] = Set(names)
        }

        var rows: [Reservation] = []
        var matched: Set<String> = [] // "level/holder"
        let keyNames: [String]
        do { keyNames = try StoreSystem.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where !name.hasPrefix(".") {
            let path = "\(keysPath)/\(name)"
            let bytes: [UInt8]
            do { bytes = try StoreSystem.readSmall(path) } catch where error.errno == .noEntry {
                continue
            } catch { throw .io(error) }
            if bytes.isEmpty { continue } // a lock file of a reservation in progress
            let record: KeyRecord
            do { record = try KeyRecord(parsing: bytes) } catch {
                guard case .malformed(let why) = error else { continue }
                rows.append(Reservation(levelName: "?", level: nil, key: EntryName.decode(name), roots: [], since: nil, state: .corrupt("\(path): \(why)")))
                continue
            }
            let levelName = EntryName.encode(record.level.description)
            let held = holders[levelName]?.contains(name) ?? false
            if held { matched.insert("\(levelName)/\(name)") }
            rows.append(Reservation(levelName: levelName, level: record.level, key: record.key, roots: record.roots, since: record.since, state: held ? .held : .staleRecord))
        }
        for (levelName, names) in holders {
            let level = EntryName.decode(levelName).flatMap { MCSLevel($0) }
            if names.isEmpty {
                rows.append(Reservation(levelName: levelName, level: level, key: nil, roots: [], since: nil, state: .emptyLevel))
            }
            for name in names where !matched.contains("\(levelName)/\(name)") {
                rows.append(Reservation(levelName: levelName, level: level, key: EntryName.decode(name) ?? name, roots: [], since: nil, state: .orphanHolder))
            }
        }
        rows.sort { ($0.levelName, $0.key ?? "") < ($1.levelName, $1.key ?? "") }
        return rows
    }

    /// Frees every key holding `level` (admin `release LEVEL`). Returns the
    /// keys released (a holder without a record counts by its entry name).
    public func release(level: MCSLevel) throws(ReservationError) -> [String] {
        let dir = levelPath(level)
        let names: [String]
        do { names = try StoreSystem.entries(dir) } catch where error.errno == .noEntry {
            return []
        } catch { throw .io(error) }
        var released: [String] = []
        for name in names {
            guard let lock = try lockKey(name, wait: true, create: true) else { continue }
            defer { lock.release() }
            let record = try? readRecord(lock, name: name, expecting: nil)
            if let record, record.level == level {
                _ = try releaseLocked(name: name, record: record)
                released.append(record.key)
            } else {
                let holder = "\(dir)/\(name)"
                if unlink(holder) != 0 && errno != ENOENT { throw .io(SystemError("unlink", path: holder)) }
                if record == nil { dropEmptyLock(lock, name: name) }
                released.append(EntryName.decode(name) ?? name)
            }
        }
        _ = rmdir(dir)
        do { try StoreSystem.fsyncDirectory(levelsPath) } catch { throw .io(error) }
        return released
    }

    /// Frees gone keys and repairs what interrupted operations left. Skips
    /// any key another process has locked (its operation is in progress).
    public func collectGarbage() throws(ReservationError) -> [GarbageEvent] {
        var events: [GarbageEvent] = []
        try removeDeadTemporaries(&events)

        let keyNames: [String]
        do { keyNames = try StoreSystem.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where !name.hasPrefix(".") {
            guard let lock = try lockKey(name, wait: false, create: false) else { continue }
            defer { lock.release() }
            let record: KeyRecord?
            do { record = try readRecord(lock, name: name, expecting: nil) } catch {
                guard case .corrupt = error.kind else { throw error }
                events.append(GarbageEvent(kind: .corruptKept, level: nil, key: EntryName.decode(name), detail: error.description))
                continue
            }
            guard var record else {
                dropEmptyLock(lock, name: name)
                continue
            }
            if !holderExists(record.level, name) {
                _ = try releaseLocked(name: name, record: nil)
                events.append(GarbageEvent(kind: .staleRecord, level: record.level.description, key: record.key, detail: "level was not held"))
                continue
            }
            let gone = record.roots.filter { !Self.rootExists($0) }
            if gone.isEmpty { continue }
            if gone.count == record.roots.count {
                _ = try releaseLocked(name: name, record: record)
                events.append(GarbageEvent(kind: .released, level: record.level.description, key: record.key, detail: "gone: " + gone.joined(separator: " ")))
            } else {
                record.roots.removeAll { gone.contains($0) }
                try writeRecord(record, name: name)
                events.append(GarbageEvent(kind: .prunedRoots, level: record.level.description, key: record.key, detail: "gone: " + gone.joined(separator: " ")))
            }
        }

        let levelNames: [String]
        do { levelNames = try StoreSystem.entries(levelsPath) } catch { throw .io(error) }
        for levelName in levelNames where !levelName.hasPrefix(".") {
            let dir = "\(levelsPath)/\(levelName)"
            let names: [String]
            do { names = try StoreSystem.entries(dir) } catch where error.errno == .noEntry {
                continue
            } catch where error.errno == .notDirectory {
                events.append(GarbageEvent(kind: .corruptKept, level: levelName, key: nil, detail: "\(dir) is not a directory"))
                continue
            } catch { throw .io(error) }
            var removed = 0
            for name in names {
                guard let lock = try lockKey(name, wait: false, create: true) else { continue }
                defer { lock.release() }
                let record: KeyRecord?
                do { record = try readRecord(lock, name: name, expecting: nil) } catch {
                    guard case .corrupt = error.kind else { throw error }
                    continue // reported above; its holder stays until an admin decides
                }
                if let record, EntryName.encode(record.level.description) == levelName { continue }
                let holder = "\(dir)/\(name)"
                if unlink(holder) == 0 {
                    removed += 1
                    events.append(GarbageEvent(kind: .orphanHolder, level: levelName, key: EntryName.decode(name) ?? name, detail: "no record points here"))
                } else if errno != ENOENT {
                    throw .io(SystemError("unlink", path: holder))
                }
                if record == nil { dropEmptyLock(lock, name: name) }
            }
            if removed == names.count && rmdir(dir) == 0 {
                events.append(GarbageEvent(kind: .emptyLevel, level: levelName, key: nil, detail: ""))
            }
        }
        do {
            try StoreSystem.fsyncDirectory(levelsPath)
            try StoreSystem.fsyncDirectory(keysPath)
        } catch { throw .io(error) }
        return events
    }

    /// A root is gone only when it certainly does not exist; an unreadable
    /// parent (EACCES) or an I/O error keeps the reservation. gc and the
    /// poststop hook both decide with this.
    public static func rootExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 || errno != ENOENT && errno != ENOTDIR
    }

    /// Removes a record file that is empty (left by a lock of a reservation
    /// that never wrote a record), while still holding its lock.
    func dropEmptyLock(_ lock: KeyLock, name: String) {
        var st = stat()
        if fstat(lock.fd.rawValue, &st) == 0 && st.st_size == 0 {
            _ = unlink("\(keysPath)/\(name)")
        }
    }

    /// `tmp/<pid>.<random>` of dead processes, and record temporaries
    /// (`Files.replaceAtomically`'s `keys/.<name>.svirt-<pid>-<random>`) of
    /// dead processes.
    private func removeDeadTemporaries(_ events: inout [GarbageEvent]) throws(ReservationError) {
        let temporaries: [String]
        do { temporaries = try StoreSystem.entries(tmpPath) } catch { throw .io(error) }
        for name in temporaries {
            guard let pid = name.split(separator: ".").first.flatMap({ Int32($0) }), !StoreSystem.processExists(pid) else { continue }
            let dir = "\(tmpPath)/\(name)"
            for inner in (try? StoreSystem.entries(dir)) ?? [] { _ = unlink("\(dir)/\(inner)") }
            if rmdir(dir) == 0 || unlink(dir) == 0 {
                events.append(GarbageEvent(kind: .temporary, level: nil, key: nil, detail: dir))
            }
        }
        let keyNames: [String]
        do { keyNames = try StoreSystem.entries(keysPath) } catch { throw .io(error) }
        for name in keyNames where name.hasPrefix(".") {
            guard let pid = Files.temporaryOwner(name), !StoreSystem.processExists(pid) else { continue }
            if unlink("\(keysPath)/\(name)") == 0 {
                events.append(GarbageEvent(kind: .temporary, level: nil, key: nil, detail: "\(keysPath)/\(name)"))
            }
        }
    }
}
