import SVirtSystem
import SVirtPaths

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
    /// Told the walk's counts while it runs (a progress line); nil: no
    /// counting beyond the report.
    public var observer: RelabelObserver?

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

    /// `within`: refuse a source that does not resolve to that directory
    /// or below it (ResolvedSource.open).
    public func relabel(_ path: String, to label: String, within: String? = nil) throws(RelabelError) -> RelabelReport {
        try relabel(FilePath(path), to: label, within: within.map { FilePath($0) })
    }

    public func relabel(_ path: FilePath, to label: String, within: FilePath? = nil) throws(RelabelError) -> RelabelReport {
        guard !label.isEmpty, !label.utf8.contains(0) else {
            throw .refused("\(path)", "empty or malformed label")
        }
        let policy = self.policy ?? SystemPathPolicy(extraPaths: InvokingUserHomes.collect())
        let source = try ResolvedSource.open(path, policy: policy, within: within, calls: calls)
        defer { source.fd.close() }
        let fileLabel = FileLabel(label)
        guard source.isDirectory else { return try labelSingle(source, fileLabel) }
        let tree = try OpenTree(source, forcedMethod: forcedMethod, calls: calls,
                                threads: threads > 0 ? threads : Relabeler.defaultThreads())
        defer { tree.fd.close() }
        let progress = observer.map { ProgressTracker($0, total: Relabeler.knownEntryCount(source, open: tree.fd)) }
        // Stamps only where directory times come from this host's clock,
        // and only under the tree lock, held until the stamp is written.
        let treeLock = tree.keepsLocalTimes ? try locking(tree.path) { () throws(TreeLock.Timeout) in
            try TreeLock.forTree(tree.fd, directory: lockDirectory, timeout: lockTimeout)
        } : nil
        defer { withExtendedLifetime(treeLock) {} }
        // A walk that trusts a stamp reads without the write lock; at its
        // first write it stops, to start over under it: what it read
        // unlocked may have changed.
        if treeLock != nil {
            let start = Relabeler.now()
            let trust = readTrust(tree, fileLabel, now: start, keepsStamps: true)
            if trust.since != nil,
               let report = try pass(tree, fileLabel, trust, start: start, locks: .tree, progress: progress) {
                return report
            }
        }
        // Expected to write: under the write lock, everything read anew.
        let writeLock = treeLock == nil ? nil : try locking(tree.path) { () throws(TreeLock.Timeout) in
            try TreeLock.forWrites(source.place, directory: lockDirectory, timeout: lockTimeout)
        }
        defer { withExtendedLifetime(writeLock) {} }
        let locks: PassLocks = writeLock != nil ? .treeAndWrites : .none
        let start = Relabeler.now()
        let trust = readTrust(tree, fileLabel, now: start, keepsStamps: locks == .treeAndWrites)
        guard let report = try pass(tree, fileLabel, trust, start: start, locks: locks, progress: progress) else {
            preconditionFailure("only a walk without the write lock starts over")
        }
        return report
    }

    /// The locks a pass holds, which decide how it may write labels and
    /// its stamp (docs/relabel.md, "Who may write a stamp").
    enum PassLocks {
        /// None could be taken (a remote file system, no lock directory):
        /// nothing trusted, no stamp left.
        case none
        /// The tree lock only: reads, and starts over at its first write.
        case tree
        case treeAndWrites
    }

    /// One walk: the root, everything below it, then the stamp. nil when
    /// it stopped at its first write to start over (`locks` .tree).
    private func pass(_ tree: OpenTree, _ label: FileLabel, _ trust: Trust, start: TreeStamp.Timestamp,
                      locks: PassLocks, progress: ProgressTracker?) throws(RelabelError) -> RelabelReport? {
        // A descriptor of its own per pass: a dup would share the
        // directory offset that the previous pass read to the end.
        let fd: FileDescriptor
        do { fd = try tree.fd.open(".", .directory) } catch { throw .failed("\(tree.path)", "open", errno: error) }
        let root = DirHandle(fd: fd, path: tree.path, trust: trust.root)
        let walk = Walk(root: root, label: label, threadLimit: tree.threads, entryChecks: tree.entryChecks,
                        mayWriteBlind: !alwaysReadFirst && !trust.rootLabeled && tree.cheapRewrite,
                        method: tree.method, rootMount: tree.mount, calls: calls, trust: trust,
                        startsOverToWrite: locks == .tree, ancestors: tree.ancestors,
                        afterDirectoryLabel: afterDirectoryLabel, progress: progress)
        // The root first: a walk of a tree inside a stamped one shows on
        // its root's label even to relabelers that keep no stamps.
        var report = RelabelReport(visited: 1)
        switch Worker(walk: walk).labelOpenDirectory(fd, path: tree.path, parent: nil) {
        case .unchanged: break
        case .changed: report.changed = 1
        case .stop(let e): report.warnings.append(Walk.warning(e, "\(tree.path)")); return report
        case .failure(let error): throw walk.failure ?? error
        }
        progress?.add(visited: 1, changed: report.changed, unread: 0)
        report += try walk.run()
        if walk.mustStartOver { return nil }
        if !walk.stoppedWithWarning {
            let stamp = TreeStamp.forWalk(startingAt: start, label: label, slack: stampSlack).encoded
            switch locks {
            case .none:
                // A locked walk of this tree may have stamped it meanwhile,
                // over labels this one went on writing.
                if report.changed > 0 { try? tree.fd.removeExtendedAttribute(TreeStamp.attribute) }
            case .treeAndWrites:
                Stamps.write(stamp, tree.fd)
            case .tree:
                // Read only, without the write lock: a writer may have
                // removed the stamp meanwhile (its labels are not what this
                // walk saw), and then it must stay gone.
                Stamps.renew(stamp, tree.fd)
            }
        }
        return report
    }

    private func readTrust(_ tree: OpenTree, _ label: FileLabel, now: TreeStamp.Timestamp,
                           keepsStamps: Bool) -> Trust {
        Trust(rootLabeled: Relabeler.carries(label) { (buffer) throws(Errno) in
                  try tree.fd.extendedAttribute(.selinux, into: buffer)
              },
              stamp: Stamps.read(tree.fd),
              label: label, now: now, keepsStamps: keepsStamps, full: full)
    }

    /// A lock, or the relabel's failure when its wait timed out.
    func locking<Lock>(_ path: FilePath,
                       _ take: () throws(TreeLock.Timeout) -> Lock?) throws(RelabelError) -> Lock? {
        do {
            return try take()
        } catch {
            throw .lockTimedOut("\(path)", lock: error.name, holder: error.holder, seconds: lockTimeout)
        }
    }

    /// The directories whose stamps cover `source`: above it on its file
    /// system, through every mount of that file system here, each only if
    /// its path still leads there (no mount on top hides it; looked up
    /// without following a final symlink or triggering an automount).
    static func covering(_ source: ResolvedSource) -> [FilePath] {
        guard let mountID = source.mount.mountID,
              let candidates = MountTable.coveringDirectories(of: source.path, mountID: mountID, mounts: source.mounts)
        else { return [] }
        return candidates.compactMap { candidate in
            let st = try? candidate.path.withCString { (path) throws(Errno) in
                try FileDescriptor.currentDirectory.statx(path, [.noFollow, .noAutomount, .statxDontSync], fields: .mountID)
            }
            guard let id = st?.knownMountID, id == candidate.mountID else { return nil }
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

    static func now() -> TreeStamp.Timestamp { ProcessInfo.realTime() }

    /// Whether `read` (an fd's or a path's security.selinux) gives `label`.
    static func carries(_ label: FileLabel, _ read: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { raw in try? read(raw) }
        return n.map { label.matches(Array(buffer[0..<$0])) } ?? false
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
        return resolved.withCString { path in
            guard Relabeler.carries(fileLabel, { (buffer) throws(Errno) in
                      try PathAttributes.get(.selinux, of: path, followingLinks: false, into: buffer)
                  }),
                  let bytes = Stamps.read({ (buffer) throws(Errno) in
                      try PathAttributes.get(TreeStamp.attribute, of: path, followingLinks: false, into: buffer)
                  }),
                  let stamp = TreeStamp.decode(bytes) else { return false }
            return stamp.trusted(for: fileLabel, now: Relabeler.now())
        }
    }

    /// The entries of a tree that is a whole file system (mounted from its
    /// root, at the tree's path): its used inodes. For any other tree the
    /// file system's count includes what lies outside, and nothing short
    /// of a walk tells how much, so there is no total (and no estimate of
    /// the time left) rather than a wrong one. Hard links make it an
    /// undercount (one inode, several names): a reader must not trust it
    /// once the walk is past it.
    static func knownEntryCount(_ source: ResolvedSource, open fd: FileDescriptor) -> Int? {
        guard let mountID = source.mount.mountID,
              let own = source.mounts.first(where: { $0.id == mountID }),
              own.root == .root, own.mountPoint == source.path else { return nil }
        return fd.usedInodes()
    }

    static func defaultThreads() -> Int {
        max(2, min(2 * ProcessInfo.onlineProcessors(), 8))
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
                let st = try? path.withCString { (path) throws(Errno) in
                    try FileDescriptor.currentDirectory.statx(path, [.noFollow, .noAutomount, .statxDontSync], fields: .type)
                }
                return st?.isDirectory == true
            })
    }

    /// A source that is not a directory (a file, socket or device bind
    /// mount): labeled through its O_PATH fd's proc link, which setxattr
    /// follows to the inode we opened, never further (verified for every
    /// file type, symlinks included). A write like any walk's: under the
    /// write lock, after the stamps of the directories above it are gone.
    func labelSingle(_ source: ResolvedSource, _ label: FileLabel) throws(RelabelError) -> RelabelReport {
        var lock: WriteLock?
        var blocked: Result<String, RelabelError>? // a warning, or the failure
        let outcome = withUnsafeTemporaryAllocation(byteCount: LabelWriter.valueSize(for: label),
                                                    alignment: 8) { value -> EntryOutcome in
            "/proc/self/fd/\(source.fd.rawValue)".withCString { link -> EntryOutcome in
                var strict = WritePolicy(mayWriteBlind: false)
                return LabelWriter(label: label, value: value).apply(&strict, path: { "\(source.path)" },
                    beforeWrite: {
                        do throws(RelabelError) {
                            if Relabeler.keepsLocalTimes(try? source.fd.fileSystemType()) {
                                lock = try locking(source.path) { () throws(TreeLock.Timeout) in
                                    try TreeLock.forWrites(source.place, directory: lockDirectory, timeout: lockTimeout)
                                }
                            }
                        } catch {
                            blocked = .failure(error)
                            return false
                        }
                        guard let (e, ancestor) = Stamps.remove(paths: Relabeler.covering(source)) else { return true }
                        blocked = Walk.tolerated(e, "\(ancestor)").map { .success($0) }
                            ?? .failure(.failed("\(ancestor)", "removexattr \(TreeStamp.xattrName)", errno: e))
                        return false
                    },
                    read: { (value) throws(Errno) in
                        try PathAttributes.get(.selinux, of: link, followingLinks: true, into: value)
                    },
                    write: { (value) throws(Errno) in
                        try PathAttributes.set(.selinux, of: link, followingLinks: true, to: value)
                    })
            }
        }
        withExtendedLifetime(lock) {}
        switch (blocked, outcome) {
        case (.failure(let error)?, _): throw error
        case (.success(let warning)?, _): return RelabelReport(visited: 1, warnings: [warning])
        case (nil, .unchanged): return RelabelReport(visited: 1)
        case (nil, .changed): return RelabelReport(visited: 1, changed: 1)
        case (nil, .stop(let e)): return RelabelReport(visited: 1, warnings: [Walk.warning(e, "\(source.path)")])
        case (nil, .failure(let error)): throw error
        }
    }
}

/// A tree's root, open for reading, with what its walks need to know
/// about where it is.
struct OpenTree {
    let path: FilePath
    let fd: FileDescriptor
    let method: XattrMethod
    let mount: MountIdentity.Root
    let threads: Int
    /// Stat each non-directory for being a mount point (see MountTable).
    let entryChecks: Bool
    /// Directories above it whose stamps cover it (Relabeler.covering).
    let ancestors: [FilePath]
    /// Its times come from this host's clock: stamps can be kept.
    let keepsLocalTimes: Bool
    /// Rewriting an equal label costs nothing much (see WritePolicy).
    let cheapRewrite: Bool

    init(_ source: ResolvedSource, forcedMethod: XattrMethod?, calls: KernelCalls, threads: Int) throws(RelabelError) {
        let fd: FileDescriptor
        do { fd = try source.fd.open(".", .directory) } catch { throw .failed("\(source.path)", "open", errno: error) }
        guard let method = forcedMethod ?? XattrMethod.probe(directory: fd, calls: calls) else {
            fd.close()
            // No getxattrat (Linux < 6.13) and no /proc to reach entries by
            // directory descriptor: there is no way to label without paths.
            throw .failed("\(source.path)", "getxattrat (and no /proc/self/fd)", errno: .noSystemCall)
        }
        let fileSystem = try? fd.fileSystemType()
        self.path = source.path
        self.fd = fd
        self.method = method
        self.mount = source.mount
        self.threads = threads
        self.entryChecks = Relabeler.needsEntryChecks(source)
        self.ancestors = Relabeler.covering(source)
        self.keepsLocalTimes = Relabeler.keepsLocalTimes(fileSystem)
        self.cheapRewrite = fileSystem.map(WritePolicy.cheapRewrite(fileSystemType:)) == true
    }
}
