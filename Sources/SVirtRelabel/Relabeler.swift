#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SVirtSystem

/// What a relabel did. `visited` counts every entry examined (the root
/// included), `changed` those whose label was written.
public struct RelabelReport: Sendable, Equatable {
    public var visited: Int
    public var changed: Int
    /// Entries of directories unchanged since the tree's stamp: trusted,
    /// not read (see TreeStamp). Not counted in `visited`.
    public var unread: Int
    /// Non-fatal: mount points not crossed, a file system that cannot hold
    /// labels (ENOTSUP) or is read-only (EROFS).
    public var warnings: [String]

    public init(visited: Int = 0, changed: Int = 0, unread: Int = 0, warnings: [String] = []) {
        self.visited = visited
        self.changed = changed
        self.unread = unread
        self.warnings = warnings
    }
}

/// A relabel that was refused or could not complete: one line, naming the
/// path and, for a failed system call, the call and errno.
public enum RelabelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not started: a system path, a home, an unidentifiable mount, a bad label.
    case refused(_ path: String, _ reason: String)
    /// A system call failed on `path`.
    case failed(_ path: String, _ call: String, errno: Int32)
    /// A relabel lock stayed held longer than the relabel waits (see TreeLock).
    case lockTimedOut(_ path: String, lock: String, holder: String, seconds: Double)

    public var path: String {
        switch self {
        case .refused(let path, _), .failed(let path, _, _), .lockTimedOut(let path, _, _, _): path
        }
    }

    public var errno: Int32? {
        switch self {
        case .refused: nil
        case .failed(_, _, let errno): errno
        case .lockTimedOut: ETIMEDOUT
        }
    }

    /// Why the path was refused, nil for a failure.
    public var refusal: String? {
        if case .refused(_, let reason) = self { return reason }
        return nil
    }

    /// The same error, about `path` instead (an entry's error reported
    /// before its path was known).
    func at(_ path: String) -> RelabelError {
        switch self {
        case .refused(_, let reason): .refused(path, reason)
        case .failed(_, let call, let errno): .failed(path, call, errno: errno)
        case .lockTimedOut(_, let lock, let holder, let seconds): .lockTimedOut(path, lock: lock, holder: holder, seconds: seconds)
        }
    }

    public var description: String {
        switch self {
        case .refused(let path, let reason):
            return "relabel of \(path) refused: \(reason)"
        case .failed(let path, let call, let errno):
            return "relabel \(path): \(call): \(Errno(rawValue: errno)) (errno \(errno))"
        case .lockTimedOut(let path, let lock, let holder, let seconds):
            let time = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            return "relabel \(path): relabel lock '\(lock)' still held by \(holder) after \(time) s (ETIMEDOUT)"
        }
    }
}

/// Relabels a tree (a bind-mount source) to one file label, safely against
/// concurrent renames and symlink swaps:
///
/// - The source is resolved once (symlinks and `..`), checked against the
///   system paths, opened without following anything, and checked to still
///   be that path. The system paths are checked again at every path where
///   its file system shows the same directory (/proc/self/mountinfo): a
///   bind mount of /usr/share/doc at /tmp/x is refused as under /usr. From then on every lookup is one name inside a directory
///   we hold open (openat2 with RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV for
///   directories, each opened by a single name so there is nothing to be
///   beneath; *xattrat with AT_SYMLINK_NOFOLLOW for
///   everything else), so no rename or swap can move the walk outside.
/// - Symlinks are labeled themselves, never followed.
/// - Mount points inside the tree are neither entered nor labeled (warning):
///   a bind mount of /etc under a volume must not be relabeled with it, and
///   what is mounted there is not part of the tree the user named. chcon -R
///   and go-selinux cross them; restorecon has an -x for not crossing.
///   Without openat2 (before 5.6, or filtered by seccomp) or without statx's
///   mount ID (before 5.8) each entry is compared with the tree's mount by
///   what is known (MountIdentity): the mount ID from /proc/self/fdinfo,
///   else a different device; an entry that cannot be judged fails the walk,
///   and a tree whose own mount ID cannot be learned is refused up front,
///   rather than labeling what may be another file system.
/// - Each label is read first and written only when it differs: a repeat
///   costs reads only, and overlayfs copies nothing up. Exception, on
///   ext4/xfs/btrfs/tmpfs only and only while the root lacks the label: a
///   directory whose entries keep differing is written without reading
///   (see WritePolicy), which saves a system call per entry on a first pass.
/// - A finished walk stamps the root (TreeStamp). The next one to the same
///   label reads the label of every directory, but the files only of the
///   root and of directories that changed since (ctime), and everything
///   below a directory whose own label was wrong or that may have been
///   moved in: a repeat costs a few system calls per directory instead of
///   one per entry.
/// - Parallel: subdirectories and batches of a large directory's entries go
///   to up to `threads` threads, started only when there is work for them.
/// - Stamps covering a write (the written directory's, those up to the
///   root's and those above it) are removed before it, and the
///   root's is written back only after everything succeeded, so a relabel
///   interrupted or failed half-way is redone in full next time. Writers
///   take turns (TreeLock).
/// - ENOENT on an entry is not an error (it vanished mid-walk). EOPNOTSUPP
///   (the file system cannot hold labels, e.g. NFS without labeled NFS) and
///   EROFS stop the walk with a warning and count as success, as CRI-O and
///   podman treat ENOTSUP; any other error fails with path and errno.
///
/// Not handled: a hard link in the tree to a file outside shares its inode
/// and so its label (as with chcon and go-selinux; fs.protected_hardlinks
/// limits who can make one); open descriptors grow with nesting depth (one
/// per level with pending subdirectories), so a tree nested deeper than the
/// RLIMIT_NOFILE soft limit fails with EMFILE rather than half-succeeding.
public struct Relabeler: Sendable {
    public let threads: Int
    let policy: SystemPathPolicy?
    /// Read before every write, even on a first pass (see WritePolicy).
    let alwaysReadFirst: Bool
    /// Tests: force the older-kernel xattr path instead of probing.
    var forcedMethod: XattrMethod?
    /// Tests: pretend these calls are missing (an older kernel, seccomp).
    var calls = KernelCalls()
    /// Read every entry, ignoring the tree's stamp (a stamp is still left).
    public var full = false
    /// How long before its start a walk's stamp vouches from (see
    /// TreeStamp.slackSeconds). Tests set 0 to see a renewed stamp trusted
    /// without waiting out the slack.
    var stampSlack = TreeStamp.slackSeconds
    /// How long a relabel waits for a lock before it fails (see TreeLock).
    public var lockTimeout = TreeLock.defaultTimeout
    /// Where TreeLock keeps its lock files (tests use their own).
    var lockDirectory = TreeLock.defaultDirectory
    /// Tests: runs in the walk after each directory below the root has had
    /// its label read (and written), before its entries: another process
    /// acts at that moment.
    var afterDirectoryLabel: (@Sendable (String) -> Void)?

    /// `threads`: walker threads, 0 = two per online CPU (at most 8), as
    /// go-selinux's pwalkdir: with a cold cache threads wait on inode reads.
    public init(threads: Int = 0) {
        self.threads = threads
        self.policy = nil
        self.alwaysReadFirst = false
    }

    /// For tests and the bench: another path policy (e.g. to relabel under
    /// /tmp), and the strict read-first mode.
    @_spi(Bench) public init(threads: Int = 0, policy: SystemPathPolicy?, alwaysReadFirst: Bool = false) {
        self.threads = threads
        self.policy = policy
        self.alwaysReadFirst = alwaysReadFirst
    }

    public func relabel(_ path: String, to label: String) throws(RelabelError) -> RelabelReport {
        guard !label.isEmpty, !label.utf8.contains(0) else {
            throw .refused(path, "empty or malformed label")
        }
        let policy = self.policy ?? SystemPathPolicy(extraPaths: InvokingUserHomes.collect())
        let source = try ResolvedSource.open(path, policy: policy, calls: calls)
        defer { close(source.fd) }
        let fileLabel = FileLabel(label)
        if !source.isDirectory {
            return try labelSingle(source, fileLabel)
        }
        let dirFD = openat(source.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw .failed(source.path, "open", errno: errno) }
        defer { close(dirFD) }
        guard let method = forcedMethod ?? XattrMethod.probe(directory: dirFD) else {
            // No getxattrat (Linux < 6.13) and no /proc to reach entries by
            // directory descriptor: there is no way to label without paths.
            throw .failed(source.path, "getxattrat (and no /proc/self/fd)", errno: ENOSYS)
        }
        let limit = threads > 0 ? threads : Relabeler.defaultThreads()
        let entryChecks = Relabeler.needsEntryChecks(source)
        let ancestors = Relabeler.covering(source)
        // Stamps only where directory times come from this host's clock,
        // and only under the tree lock, held until the stamp is written.
        let fileSystem = Linux.fileSystemType(dirFD)
        let treeLock = Relabeler.keepsLocalTimes(fileSystem) ? try locking(source.path) { () throws(TreeLock.Timeout) in
            try TreeLock.forTree(dirFD, directory: lockDirectory, timeout: lockTimeout)
        } : nil
        var stamps = treeLock != nil
        var writeLock: TreeLock?
        var mustLock = false
        while true {
            let start = Relabeler.now()
            let rootLabeled = Relabeler.carries(SyscallNumber.fgetxattr, Int(dirFD), fileLabel)
            let stampBytes = Relabeler.readStamp(SyscallNumber.fgetxattr, Int(dirFD))
            let since = stamps && !full && rootLabeled
                ? stampBytes.flatMap(TreeStamp.decode).flatMap { $0.trusted(for: fileLabel, now: start) ? $0.since : nil }
                : nil
            // A walk that trusts no stamp is expected to write: it takes the
            // write lock, then reads everything anew. One that trusts a
            // stamp reads without it, and starts over under it if it must
            // write, as what it read may have changed while it did not hold it.
            if stamps && (since == nil || mustLock) && writeLock == nil {
                writeLock = try locking(source.path) { () throws(TreeLock.Timeout) in
                    try TreeLock.forWrites(directory: lockDirectory, timeout: lockTimeout)
                }
                if writeLock == nil { stamps = false }
                continue
            }
            // A descriptor of its own per pass: a dup would share the
            // directory offset that the previous pass read to the end.
            let passFD = openat(dirFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard passFD >= 0 else { throw .failed(source.path, "open", errno: errno) }
            // The root's own entries are always read: writing its stamp
            // set its ctime after the stamp's time.
            let root = DirHandle(fd: passFD, path: source.path, labelsEntries: true, verifiesSubtree: since == nil)
            let walk = Walk(root: root, label: fileLabel, threadLimit: limit, entryChecks: entryChecks,
                            mayWriteBlind: !alwaysReadFirst && !rootLabeled
                                && fileSystem.map(WritePolicy.cheapRewrite(fileSystemType:)) == true,
                            method: method, rootMount: source.mount, calls: calls,
                            since: since, stampPresent: stampBytes != nil,
                            startsOverToWrite: stamps && writeLock == nil, ancestors: ancestors,
                            afterDirectoryLabel: afterDirectoryLabel)
            // The root first: a walk of a tree inside a stamped one shows on
            // its root's label even to relabelers that keep no stamps.
            var report = RelabelReport()
            switch Worker(walk: walk).labelOpenDirectory(root.fd, path: root.path, parent: nil) {
            case .unchanged: report.visited = 1
            case .changed: report.visited = 1; report.changed = 1
            case .stop(let e): report.warnings.append(Walk.warning(e, root.path)); return report
            case .failure(let error): throw walk.failure ?? error
            }
            let below = try walk.run()
            if walk.mustStartOver {
                mustLock = true
                continue
            }
            report.visited += below.visited
            report.changed += below.changed
            report.unread = below.unread
            report.warnings += below.warnings
            if walk.stoppedWithWarning { return report }
            let stamp = TreeStamp.forWalk(startingAt: start, label: fileLabel, slack: stampSlack).encoded
            if !stamps {
                // A locked walk of this tree may have stamped it meanwhile,
                // over labels this one went on writing.
                if report.changed > 0 { _ = XattrAccess.remove(dirFD, name: TreeStamp.xattrName) }
            } else if writeLock != nil {
                Relabeler.writeStamp(stamp, dirFD) // read and written under the write lock
            } else {
                // Read only, without the write lock: a writer may have
                // removed the stamp meanwhile (its labels are not what this
                // walk saw). Renewed only if still the one read, checked and
                // written under the write lock, which is not waited for: the
                // old stamp stays right, only older.
                if let lock = try? TreeLock.forWrites(directory: lockDirectory, wait: false) {
                    if Relabeler.readStamp(SyscallNumber.fgetxattr, Int(dirFD)) == stampBytes {
                        Relabeler.writeStamp(stamp, dirFD)
                    }
                    withExtendedLifetime(lock) {}
                }
            }
            withExtendedLifetime((treeLock, writeLock)) {} // both until the stamp is on
            return report
        }
    }

    /// A lock, or the relabel's failure when its wait timed out.
    func locking(_ path: String,
                 _ take: () throws(TreeLock.Timeout) -> TreeLock?) throws(RelabelError) -> TreeLock? {
        do {
            return try take()
        } catch {
            throw .lockTimedOut(path, lock: error.name, holder: error.holder, seconds: lockTimeout)
        }
    }

    /// Best effort: without a stamp (no trusted.* here, EPERM in a user
    /// namespace) the next relabel reads everything.
    static func writeStamp(_ stamp: [UInt8], _ fd: Int32) {
        _ = stamp.withUnsafeBytes {
            XattrAccess.set(SyscallNumber.fsetxattr, Int(fd), $0, name: TreeStamp.xattrName)
        }
    }

    /// The directories whose stamps cover `source`: above it on its file
    /// system, through every mount of that file system here, each only if
    /// its path still leads there (no mount on top hides it; looked up
    /// without following a final symlink or triggering an automount).
    static func covering(_ source: ResolvedSource) -> [String] {
        guard let mountID = source.mount.mountID,
              let candidates = MountTable.coveringDirectories(of: source.path, mountID: mountID, mounts: source.mounts)
        else { return [] }
        return candidates.compactMap { candidate in
            let (e, st) = Linux.statx(AT_FDCWD, candidate.path,
                                      flags: AT_SYMLINK_NOFOLLOW | LinuxFlag.atNoAutomount | LinuxFlag.atStatxDontSync,
                                      mask: LinuxFlag.statxMountID)
            guard e == 0, st.mask & LinuxFlag.statxMountID != 0, st.mountID == candidate.mountID else { return nil }
            return candidate.path
        }
    }

    /// Local file systems, whose timestamps come from this host's clock:
    /// on NFS or FUSE a server's clock stamps directories, and a skew
    /// beyond the stamp's slack would hide changes.
    static func keepsLocalTimes(_ fileSystemType: Int?) -> Bool {
        guard let type = fileSystemType else { return false }
        return WritePolicy.cheapRewrite(fileSystemType: type)
            || UInt32(truncatingIfNeeded: type) == 0x794C_7630 // overlayfs
    }

    static func now() -> TreeStamp.Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return TreeStamp.Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec))
    }

    /// The root's stamp as stored (`call` and `target` as for
    /// XattrAccess.get: an fd, or a path), nil when it has none; empty when
    /// it is longer than any stamp we write (not ours, but present: removed
    /// before writing like any other).
    static func readStamp(_ call: Int, _ target: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096 + 64)
        let n = buffer.withUnsafeMutableBytes { XattrAccess.get(call, target, $0, name: TreeStamp.xattrName) }
        if n >= 0 { return Array(buffer[0..<n]) }
        return errno == ERANGE ? [] : nil
    }

    static func carries(_ call: Int, _ target: Int, _ label: FileLabel) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { XattrAccess.get(call, target, $0) }
        return n >= 0 && label.matches(Array(buffer[0..<n]))
    }

    /// Whether a relabel of `path` to `label` has completed before: its
    /// root carries the label and a stamp naming it (removed before a walk
    /// writes anything, written when it has finished). Runtime
    /// stages use this to skip a tree that precreate (or `--bundle`)
    /// labeled moments earlier. Reading changes nothing, so resolving by
    /// path is safe here.
    public func isComplete(_ path: String, label: String) -> Bool {
        guard let resolved = try? Files.realPath(path) else { return false }
        let fileLabel = FileLabel(label)
        return resolved.withCString { raw in
            let target = Int(bitPattern: UnsafeRawPointer(raw))
            guard Relabeler.carries(SyscallNumber.lgetxattr, target, fileLabel),
                  let bytes = Relabeler.readStamp(SyscallNumber.lgetxattr, target),
                  let stamp = TreeStamp.decode(bytes) else { return false }
            return stamp.trusted(for: fileLabel, now: Relabeler.now())
        }
    }

    static func defaultThreads() -> Int {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(2, min(2 * (online > 0 ? online : 1), 8))
    }

    static func needsEntryChecks(_ source: ResolvedSource) -> Bool {
        guard let treeMount = source.mount.mountID else {
            return true // cannot tell: check every entry
        }
        return MountTable.needsEntryChecks(
            tree: source.path, treeMount: treeMount, mounts: source.mounts,
            isDirectory: { path in
                // Cached attributes only and no automount: a hung NFS or an
                // autofs mount elsewhere on the host must not stall the hook.
                let (e, st) = Linux.statx(AT_FDCWD, path,
                                          flags: AT_SYMLINK_NOFOLLOW | LinuxFlag.atNoAutomount | LinuxFlag.atStatxDontSync,
                                          mask: LinuxFlag.statxType)
                return e == 0 && st.isDirectory
            })
    }

    /// A source that is not a directory (a file, socket or device bind
    /// mount): labeled through its O_PATH fd's proc link, which setxattr
    /// follows to the inode we opened, never further (verified for every
    /// file type, symlinks included).
    func labelSingle(_ source: ResolvedSource, _ label: FileLabel) throws(RelabelError) -> RelabelReport {
        let link = "/proc/self/fd/\(source.fd)"
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = link.withCString { path in
            buffer.withUnsafeMutableBytes { XattrAccess.get(SyscallNumber.getxattr, Int(bitPattern: path), $0) }
        }
        if n >= 0 && label.matches(Array(buffer[0..<n])) {
            return RelabelReport(visited: 1, changed: 0)
        }
        let readError = n < 0 ? errno : 0
        if n < 0 && readError != ENODATA && readError != ERANGE {
            if let warning = Walk.tolerated(readError, source.path) { return RelabelReport(visited: 1, warnings: [warning]) }
            throw .failed(source.path, "getxattr", errno: readError)
        }
        // A write like any walk's: under the write lock, after the stamps
        // of the directories above it are gone.
        let lock = Relabeler.keepsLocalTimes(Linux.fileSystemType(source.fd))
            ? try locking(source.path) { () throws(TreeLock.Timeout) in
                try TreeLock.forWrites(directory: lockDirectory, timeout: lockTimeout)
            } : nil
        if let (e, ancestor) = Stamps.remove(paths: Relabeler.covering(source)) {
            if let warning = Walk.tolerated(e, ancestor) { return RelabelReport(visited: 1, warnings: [warning]) }
            throw .failed(ancestor, "removexattr \(TreeStamp.xattrName)", errno: e)
        }
        let r = link.withCString { path in
            label.stored.withUnsafeBytes { XattrAccess.set(SyscallNumber.setxattr, Int(bitPattern: path), $0) }
        }
        withExtendedLifetime(lock) {}
        if r < 0 {
            let e = errno
            if let warning = Walk.tolerated(e, source.path) { return RelabelReport(visited: 1, warnings: [warning]) }
            throw .failed(source.path, "setxattr", errno: e)
        }
        return RelabelReport(visited: 1, changed: 1)
    }
}
