import Glibc
import SVirtSELinux
import SVirtSystem
import SVirtPaths

/// MCS level reservations on disk, unique across every process that uses
/// the same state directory, and safe against a crash at any instant.
///
/// ## Layout (`D` = `--state-dir`, default /var/lib/svirt-hook)
///
///     D/levels/s0:c12,c907/          one directory per held level
///     D/levels/s0:c12,c907/<name>    one empty file per key holding it
///     D/keys/<name>                  the key's record (KeyRecord): level,
///                                    since, root paths; also its lock
///     D/tmp/<pid>.<random>/          a level directory being born
///
/// `<name>` is the key escaped by `EntryName` (injective, no `/`, never
/// `.`/`..`); level directories are named the same way from the level's
/// canonical text.
///
/// ## Taking a level
/// A process locks `keys/<name>` (flock, per key: reservations for other
/// keys never wait) and reads the record. If the record's level still has
/// this key as holder, that level is returned: the same key always gets the
/// same level (even when it is now outside the range or in `inUse`: the
/// container's files already carry it). Otherwise a directory `tmp/<pid>.<random>` holding the
/// holder file is renamed to `levels/<level>` with `RENAME_NOREPLACE`. The
/// rename is the one atomic step that takes a level: it fails with EEXIST
/// when any directory is there (held, or a half-released empty one), and
/// the level never exists without its first holder. Then the record is
/// written (temp file, fsync, rename, fsync of the directory). Candidates are
/// uniform random pairs `s0:cA,cB`, A < B, from getrandom(2) by rejection
/// sampling (no modulo bias), skipping `inUse` and `s0:c1022,c1023`
/// (go-selinux keeps it for privileged containers). Each attempt is one
/// rename, whatever the number of reservations: the cost does not grow
/// with the store. After 32 misses in a row the store collects garbage once
/// and scans the remaining pairs in order; when none is free it throws an
/// "exhausted" error.
///
/// ## Sharing
/// `claim` (a level the user named, a pod's containers) adds a holder file
/// to the level, creating the directory if needed; it never fails because
/// others hold the level. A level is free when its directory is gone, which
/// happens when its last holder leaves.
///
/// ## Gone, release, gc
/// A key's record lists the root paths of the containers using it. A key is
/// gone when it lists at least one root and none of them exists any more
/// (podman removes a container's storage on `rm`, not on stop or restart).
/// A key without roots is only freed by an explicit `release`. `gc` (and the
/// store itself when random draws keep missing) frees gone keys and repairs
/// what crashes leave behind; it only touches a key whose lock it gets
/// without waiting, so a reservation in progress is never judged.
///
/// ## Crash instants and what repairs them
/// - killed while `tmp/<pid>.<random>` exists: nothing is held; gc removes
///   temporaries whose process is dead.
/// - killed after the rename, before the record: the level has a holder
///   without a record (orphan). The key is not reserved, so a new attempt
///   draws again; gc removes the orphan holder and the empty level.
/// - killed while writing the record: a dot-file temporary in `keys/` (gc
///   removes it); the old record is intact.
/// - killed during release (holder removed, record left): a record whose
///   level lacks the holder is stale. `reserve` treats it as no reservation
///   (trying the same level first), gc deletes it.
/// - empty level directories (release killed between holder and rmdir) are
///   removed by gc; until then nobody can take that level, never two.
/// No instant leaves two keys holding one level through `reserve`.
///
/// ## Failures
/// Every system call failure becomes a one-line `ReservationError` naming
/// the path and errno (read-only file system, permission, not a directory);
/// a record that does not parse is reported as corrupt, never crashes, and
/// is left for the administrator (`release KEY` removes it with the key's
/// holder files, since it cannot say which level it held). So is an entry of
/// the wrong type (a directory, link or FIFO where a record or holder file
/// belongs): `list` and gc report it and go on with the rest, nothing is
/// deleted that is not understood, and no link inside the store is followed.
/// Opening with `create: false` (list, gc, release, poststop) creates
/// nothing: a mistyped directory is `.notFound`, not a new empty store.
///
/// Limits: levels are compared exactly, not by dominance (as go-selinux
/// does), so a claimed `s0:c1,c2,c3` does not keep `s0:c1,c2` from being
/// drawn. The state directory must be on a local file system supporting
/// `renameat2(RENAME_NOREPLACE)` and `flock` (ext4, xfs, btrfs, tmpfs).
public struct ReservationStore: Sendable {
    public let directory: String
    let levelsPath: String
    let keysPath: String
    let tmpPath: String

    /// Opens the store, creating the directory and its layout if missing.
    /// An existing store on a read-only file system opens (listing works);
    /// changes then fail with EROFS.
    public init(directory: String) throws(ReservationError) {
        try self.init(directory: directory, create: true)
    }

    /// With `create: false` nothing is created: a directory without
    /// `levels/` and `keys/` (a mistyped `--state-dir`, a host that never
    /// ran a container) throws `.notFound` instead of becoming an empty
    /// store. For commands that only read or free.
    public init(directory: String, create: Bool) throws(ReservationError) {
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.directory = trimmed
        levelsPath = trimmed + "/levels"
        keysPath = trimmed + "/keys"
        tmpPath = trimmed + "/tmp"
        if !create {
            for path in [levelsPath, keysPath] {
                do { _ = try Files.status(path) } catch where error.errno == .noEntry {
                    throw ReservationError(.notFound, "no reservation store at \(trimmed)")
                } catch {}
            }
        }
        do {
            if create {
                try Self.makeDirectories(trimmed)
                for path in [levelsPath, keysPath, tmpPath] { try Files.makeDirectory(path) }
            }
            // Fails now, with the path, rather than on the first entry.
            _ = try Files.status(levelsPath)
            try Files.checkReadAndSearch(keysPath)
            try Files.checkReadAndSearch(levelsPath)
        } catch {
            // Named by the store too: a failing parent (mkdir /nonexistent)
            // does not say which store it was for.
            let named = error.path.map { $0.hasPrefix(trimmed) } ?? false
            guard !named else { throw .io(error) }
            throw ReservationError(.io(error), "reservation store \(trimmed): \(error) (errno \(error.errno.rawValue))")
        }
    }

    private static func makeDirectories(_ path: String) throws(SystemError) {
        if let st = try? Files.status(path) {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw SystemError("mkdir", path: path, errno: .notDirectory) }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        try Files.makeDirectory(path, mode: 0o755)
    }

    // MARK: - Public operations

    /// The level `key` already holds, else a fresh random `s0:cA,cB` in
    /// `range` held by no key and not in `inUse`. `rootPath` (the container's
    /// root) is recorded so that gc can tell when the key is gone; `holder`
    /// (who the container is, for `list`) when the record has none yet.
    public func reserve(key: String, rootPath: String?, holder: String? = nil, range: CategoryRange,
                        inUse: Set<MCSLevel>) throws(ReservationError) -> MCSLevel {
        let name = try Self.entryName(key: key)
        try Self.checkRoot(rootPath)
        let lock = try lockKey(name, wait: true, create: true)!
        var succeeded = false
        defer {
            // A key that never got a record leaves no empty lock file.
            if !succeeded { dropEmptyLock(lock, name: name) }
            lock.release()
        }
        let existing = try readRecord(lock, name: name, expecting: key)
        if var record = existing, holderExists(record.level, name) {
            succeeded = true
            if record.adding(rootPath: rootPath, holder: holder) { try writeRecord(record, name: name) }
            return record.level
        }
        let level = try takeFreshLevel(holder: name, range: range, inUse: inUse, preferring: existing?.level)
        do {
            try writeRecord(KeyRecord(key: key, level: level, since: Self.now(), roots: rootPath.map { [$0] } ?? [],
                                      holder: holder ?? existing?.holder), name: name)
        } catch {
            removeHolder(name, from: level)
            throw error
        }
        succeeded = true
        return level
    }

    /// Records `level` for `key` as the user asked, joining the level's other
    /// holders. Never refused because the level is shared: the container
    /// already carries it (podman chose it, or a user did). Returns those
    /// other holders ("KEY (HOLDER)"), so the caller can say that these
    /// containers are not separated from each other.
    @discardableResult
    public func claim(_ level: MCSLevel, key: String, rootPath: String?, holder: String? = nil) throws(ReservationError) -> [String] {
        let name = try Self.entryName(key: key)
        try Self.checkRoot(rootPath)
        guard EntryName.encode(level.description).first != "~" else {
            throw ReservationError(.invalid, "reservation store: level too long to record: \(level)")
        }
        let lock = try lockKey(name, wait: true, create: true)!
        defer { lock.release() }
        let existing = try readRecord(lock, name: name, expecting: key)
        var record = existing ?? KeyRecord(key: key, level: level, since: Self.now(), roots: [])
        let held = existing.map { holderExists($0.level, name) } ?? false
        if held && record.level == level {
            if record.adding(rootPath: rootPath, holder: holder) { try writeRecord(record, name: name) }
            return otherHolders(of: level, besides: name)
        }
        try addHolder(name, to: level)
        if record.level != level || !held {
            record.level = level
            record.since = Self.now()
        }
        _ = record.adding(rootPath: rootPath, holder: holder)
        // The old holder goes while we still hold the lock on the record's
        // inode (the rename below replaces it): a crash in between leaves a
        // stale record and an orphan holder, both repaired.
        if let old = existing?.level, old != level { removeHolder(name, from: old) }
        try writeRecord(record, name: name)
        return otherHolders(of: level, besides: name)
    }

    /// The keys besides `name` holding `level`, each with its record's
    /// holder when it names one. Best effort, read without locks: it only
    /// words a warning.
    private func otherHolders(of level: MCSLevel, besides name: String) -> [String] {
        let names = (try? Files.entries(levelPath(level), noFollow: true)) ?? []
        return names.filter { $0 != name && !$0.hasPrefix(".") }.sorted().map { other in
            let key = EntryName.decode(other) ?? other
            let record = (try? Files.readSmall("\(keysPath)/\(other)")).flatMap { try? KeyRecord(parsing: $0) }
            return record?.holder.map { "\(key) (\($0))" } ?? key
        }
    }

    /// Frees what `key` holds. Returns the levels it held (empty when it held
    /// nothing). Also removes a corrupt record for `key` (see `releaseKey`).
    public func release(key: String) throws(ReservationError) -> [MCSLevel] {
        try releaseKey(key).levels.compactMap { MCSLevel($0) }
    }

    /// Frees what `key` holds and says what was removed. A record that does
    /// not parse cannot say which level it held: it is removed with every
    /// holder file of the key (levels/*/<name>), so nothing is left orphaned.
    /// An entry at keys/<name> that is not a file is left (a corrupt error).
    public func releaseKey(_ key: String) throws(ReservationError) -> KeyRelease {
        let name = try Self.entryName(key: key)
        guard let lock = try lockKey(name, wait: true, create: false) else { return KeyRelease(levels: [], corruptRecord: nil) }
        defer { lock.release() }
        let record: KeyRecord?
        do {
            record = try readRecord(lock, name: name, expecting: key)
        } catch where error.kind == .corrupt(path: "\(keysPath)/\(name)") {
            let levels = try removeHolderFiles(name)
            _ = try releaseLocked(name: name, record: nil)
            return KeyRelease(levels: levels, corruptRecord: error.detail)
        }
        let levels = try releaseLocked(name: name, record: record)
        return KeyRelease(levels: levels.map(\.description), corruptRecord: nil)
    }

    /// Whether `key` has a record (used by admin to tell keys from levels).
    public func holdsKey(_ key: String) -> Bool {
        guard let name = try? Self.entryName(key: key) else { return false }
        return Files.exists("\(keysPath)/\(name)")
    }

    // MARK: - Internals shared with admin and gc

    static func entryName(key: String) throws(ReservationError) -> String {
        guard !key.isEmpty else { throw ReservationError(.invalid, "reservation store: empty reservation key") }
        return EntryName.encode(key)
    }

    static func now() -> Int { Int(ProcessInfo.realTime().seconds) }

    /// gc judges roots with lstat from its own working directory, so a
    /// relative root would be judged against the wrong place and a live
    /// level freed.
    static func checkRoot(_ rootPath: String?) throws(ReservationError) {
        if let rootPath, !LexicalPath.isAbsolute(rootPath) {
            throw ReservationError(.invalid, "reservation store: root path must be absolute: \(rootPath)")
        }
    }

    func levelPath(_ level: MCSLevel) -> String { "\(levelsPath)/\(EntryName.encode(level.description))" }

    func holderExists(_ level: MCSLevel, _ name: String) -> Bool {
        Files.exists("\(levelPath(level))/\(name)")
    }

    /// Removes `name` as holder of `level`, and the level when it was the
    /// last. Best effort: a leftover is repaired by gc.
    func removeHolder(_ name: String, from level: MCSLevel) {
        let dir = levelPath(level)
        try? Files.remove("\(dir)/\(name)")
        try? Files.removeDirectory(dir) // others still hold it
        try? Files.fsyncDirectory(levelsPath)
    }

    /// Releases a locked key: holder first, then the record, so a crash in
    /// between leaves a stale record (harmless, repaired), never a holder
    /// nobody can find.
    func releaseLocked(name: String, record: KeyRecord?) throws(ReservationError) -> [MCSLevel] {
        var freed: [MCSLevel] = []
        if let record {
            let dir = levelPath(record.level)
            do {
                try Files.remove("\(dir)/\(name)")
                freed.append(record.level)
            } catch where error.errno == .noEntry {
                // Stale record: the holder is already gone.
            } catch {
                throw .io(error)
            }
            do { try Files.removeDirectory(dir) } catch {
                // Others still hold it, or it is gone already.
                let kept: [Errno] = [.notEmpty, .noEntry, .exists]
                if !kept.contains(error.errno) { throw .io(error) }
            }
            do { try Files.fsyncDirectory(levelsPath) } catch { throw .io(error) }
        }
        let path = "\(keysPath)/\(name)"
        do { try Files.remove(path, missingOK: true) } catch { throw .io(error) }
        do { try Files.fsyncDirectory(keysPath) } catch { throw .io(error) }
        return freed
    }

    /// Parses the locked record. nil when the file is empty (created by a
    /// lock that never got a record).
    func readRecord(_ lock: KeyLock, name: String, expecting key: String?) throws(ReservationError) -> KeyRecord? {
        let path = "\(keysPath)/\(name)"
        let bytes: [UInt8]
        do { bytes = try Files.readSmall(lock.fd, path: path) } catch { throw .io(error) }
        if bytes.isEmpty { return nil }
        let record: KeyRecord
        do { record = try KeyRecord(parsing: bytes) } catch {
            guard case .malformed(let why) = error else { throw .corrupt(path, "unreadable") }
            throw .corrupt(path, why)
        }
        if let key, record.key != key { throw .corrupt(path, "record is for another key") }
        if key == nil, EntryName.encode(record.key) != name { throw .corrupt(path, "record is for another key") }
        return record
    }

    func writeRecord(_ record: KeyRecord, name: String) throws(ReservationError) {
        do {
            try Files.replaceAtomically("\(keysPath)/\(name)", with: record.bytes, mode: 0o644)
        } catch {
            throw .io(error)
        }
    }

    /// Takes a level nobody holds, with `holder` as its first holder.
    private func takeFreshLevel(holder: String, range: CategoryRange, inUse: Set<MCSLevel>, preferring: MCSLevel?) throws(ReservationError) -> MCSLevel {
        guard range.count >= 2 else {
            throw ReservationError(.exhausted, "reservation store: category range \(range) has no two-category level")
        }
        if range.lower == 1022 && range.upper == 1023 {
            throw ReservationError(.exhausted, "reservation store: category range \(range) holds only s0:c1022,c1023, which is never handed out (kept for privileged containers)")
        }
        var random = RandomWords()
        let newborn: String
        do {
            newborn = try makeNewborn(holder: holder, random: &random)
        } catch {
            throw .io(error)
        }
        var taken = false
        defer {
            if !taken {
                try? Files.remove("\(newborn)/\(holder)")
                try? Files.removeDirectory(newborn)
            }
        }
        func attempt(_ level: MCSLevel) throws(ReservationError) -> Bool {
            do {
                try Files.renameNoReplace(newborn, levelPath(level))
            } catch where error.errno == .exists || error.errno.rawValue == ENOTEMPTY {
                return false
            } catch {
                throw .io(error)
            }
            taken = true
            do { try Files.fsyncDirectory(levelsPath) } catch { throw .io(error) }
            return true
        }

        if let preferring, LevelDraw.isCandidate(preferring, in: range, inUse: inUse), try attempt(preferring) {
            return preferring
        }
        for _ in 0..<LevelDraw.randomAttempts {
            let level = LevelDraw.randomPair(in: range) { random.next() }
            if LevelDraw.isCandidate(level, in: range, inUse: inUse), try attempt(level) { return level }
        }
        // Allocation pressure: free what is gone, then look at every pair.
        _ = try? collectGarbage()
        for level in LevelDraw.orderedPairs(in: range) where LevelDraw.isCandidate(level, in: range, inUse: inUse) {
            if Files.exists(levelPath(level)) { continue }
            if try attempt(level) { return level }
        }
        throw ReservationError(.exhausted, "reservation store: no free level in \(range): all \(LevelDraw.pairCount(in: range)) two-category levels are held, in use or reserved (\(directory))")
    }

    /// `tmp/<pid>.<random>/<holder>`, fsynced so that after the rename the
    /// level is never seen without its holder.
    private func makeNewborn(holder: String, random: inout RandomWords) throws(SystemError) -> String {
        let path = "\(tmpPath)/\(ProcessInfo.processID).\(random.hex(bytes: 8))"
        try Files.createDirectory(path, mode: 0o755)
        let file = try FileDescriptor.open("\(path)/\(holder)", [.writeOnly, .create, .exclusive, .noFollow], mode: 0o644)
        file.close()
        try Files.fsyncDirectory(path)
        return path
    }

    /// Adds `holder` to `level`, creating the level if nobody holds it. A
    /// concurrent gc may remove an empty level directory between our checks,
    /// so each step is retried; creating uses the same no-replace rename as
    /// `reserve`, so a level directory never appears empty by our hand.
    private func addHolder(_ holder: String, to level: MCSLevel) throws(ReservationError) {
        let dir = levelPath(level)
        var random = RandomWords()
        for _ in 0..<100 {
            let added: Bool
            do {
                try FileDescriptor.open("\(dir)/\(holder)", [.writeOnly, .create, .noFollow], mode: 0o644).close()
                added = true
            } catch where error.errno == .noEntry {
                added = false // no such level: made below
            } catch { throw .io(error) }
            if added {
                do { try Files.fsyncDirectory(dir) } catch where error.errno == .noEntry {
                    continue
                } catch { throw .io(error) }
                return
            }
            let newborn: String
            do { newborn = try makeNewborn(holder: holder, random: &random) } catch { throw .io(error) }
            do {
                try Files.renameNoReplace(newborn, dir)
                try Files.fsyncDirectory(levelsPath)
                return
            } catch where error.errno == .exists || error.errno.rawValue == ENOTEMPTY {
                try? Files.remove("\(newborn)/\(holder)")
                try? Files.removeDirectory(newborn)
            } catch {
                try? Files.remove("\(newborn)/\(holder)")
                try? Files.removeDirectory(newborn)
                throw .io(error)
            }
        }
        throw ReservationError(.io(SystemError("open", path: dir, errno: .wouldBlock)), "reservation store: \(dir) keeps changing under us; retry")
    }

    /// Locks `keys/<name>`. With `wait: false` returns nil when another
    /// process holds the lock; with `create: false` nil when there is no
    /// record. The lock is on the file's inode: a record replaced or removed
    /// while we waited is noticed (inode no longer at the path) and retried.
    func lockKey(_ name: String, wait: Bool, create: Bool) throws(ReservationError) -> KeyLock? {
        let path = "\(keysPath)/\(name)"
        while true {
            // O_NONBLOCK: a FIFO planted in keys/ must not hang the open.
            let fd: FileDescriptor
            do {
                fd = try FileDescriptor.open(path, create ? [.noFollow, .nonBlocking, .create] : [.noFollow, .nonBlocking])
            } catch {
                if error.errno == .noEntry && !create { return nil }
                if error.errno == .tooManyLinks { throw .corrupt(path, "a symbolic link, not a record") }
                if error.errno == .isDirectory { throw .corrupt(path, "a directory, not a record") }
                throw .io(error)
            }
            if let kind = Files.nonRegularKind(fd: fd) {
                fd.close()
                throw .corrupt(path, "\(kind), not a record")
            }
            do {
                guard try fd.lock(wait: wait) else {
                    fd.close()
                    return nil
                }
            } catch {
                fd.close()
                throw .io(SystemError("flock", path: path, errno: error.errno))
            }
            if fd.isStill(named: path) { return KeyLock(fd: fd) }
            fd.close()
        }
    }
}

/// What `releaseKey` removed.
public struct KeyRelease: Equatable, Sendable {
    /// The levels the key was removed from, as text (a level directory
    /// whose name is not a level's text is given by its name).
    public var levels: [String]
    /// The corrupt record that was removed ("corrupt entry PATH: why").
    public var corruptRecord: String?

    public init(levels: [String], corruptRecord: String?) {
        self.levels = levels
        self.corruptRecord = corruptRecord
    }
}

/// An exclusive flock on a key record; released by closing.
struct KeyLock {
    let fd: FileDescriptor
    func release() { fd.close() }
}
