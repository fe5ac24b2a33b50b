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
    /// Non-fatal: mount points not crossed, a file system that cannot hold
    /// labels (ENOTSUP) or is read-only (EROFS).
    public var warnings: [String]

    public init(visited: Int = 0, changed: Int = 0, warnings: [String] = []) {
        self.visited = visited
        self.changed = changed
        self.warnings = warnings
    }
}

/// A relabel that was refused or could not complete. One line, naming the
/// path and, for a failed system call, the call and errno.
public struct RelabelError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    /// The failed call ("setxattr", "open", ...), nil for a refusal.
    public let call: String?
    public let errno: Int32?
    /// Why the path was refused, nil for a failed call.
    public let refusal: String?

    public static func refused(_ path: String, _ why: String) -> RelabelError {
        RelabelError(path: path, call: nil, errno: nil, refusal: why)
    }

    public static func failed(_ path: String, _ call: String, errno: Int32) -> RelabelError {
        RelabelError(path: path, call: call, errno: errno, refusal: nil)
    }

    public var description: String {
        if let refusal { return "relabel of \(path) refused: \(refusal)" }
        let reason = errno.map { "\(Errno(rawValue: $0)) (errno \($0))" } ?? "failed"
        return "relabel \(path): \(call ?? "?"): \(reason)"
    }
}

/// Relabels a tree (a bind-mount source) to one file label, safely against
/// concurrent renames and symlink swaps:
///
/// - The source is resolved once (symlinks and `..`), checked against the
///   system paths, opened without following anything, and checked to still
///   be that path. From then on every lookup is one name inside a directory
///   we hold open (openat2 with RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV|
///   RESOLVE_BENEATH for directories, *xattrat with AT_SYMLINK_NOFOLLOW for
///   everything else), so no rename or swap can move the walk outside.
/// - Symlinks are labeled themselves, never followed.
/// - Mount points inside the tree are neither entered nor labeled (warning):
///   a bind mount of /etc under a volume must not be relabeled with it, and
///   what is mounted there is not part of the tree the user named. chcon -R
///   and go-selinux cross them; restorecon has an -x for not crossing.
/// - Each label is read first and written only when it differs: a repeat
///   costs reads only, and overlayfs copies nothing up.
/// - The root is labeled last, after everything below succeeded, so a
///   relabel interrupted or failed half-way is redone in full next time.
/// - ENOENT on an entry is not an error (it vanished mid-walk). EOPNOTSUPP
///   (the file system cannot hold labels, e.g. NFS without labeled NFS) and
///   EROFS stop the walk with a warning and count as success, as CRI-O and
///   podman treat ENOTSUP; any other error fails with path and errno.
public struct Relabeler: Sendable {
    public let threads: Int
    let policy: SystemPathPolicy?
    /// Read before every write, even on a first pass (see WritePolicy).
    let alwaysReadFirst: Bool
    /// Tests: force the older-kernel xattr path instead of probing.
    var forcedMethod: XattrMethod?

    /// `threads`: walker threads, 0 = one per online CPU (at most 8).
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
        let source = try ResolvedSource.open(path, policy: policy)
        defer { close(source.fd) }
        let fileLabel = FileLabel(label)
        if !source.isDirectory {
            return try Relabeler.labelSingle(source, fileLabel)
        }
        let dirFD = openat(source.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw .failed(source.path, "open", errno: errno) }
        let root = DirHandle(fd: dirFD, path: source.path)
        let limit = threads > 0 ? threads : Relabeler.defaultThreads()
        let walk = Walk(root: root, label: fileLabel, threadLimit: limit,
                        entryChecks: Relabeler.needsEntryChecks(source),
                        mayWriteBlind: !alwaysReadFirst && Relabeler.mayWriteBlind(root, fileLabel),
                        method: forcedMethod)
        var report = try walk.run()
        if walk.stoppedWithWarning { return report }
        // The root last: only a complete walk marks the tree as done.
        let worker = Worker(walk: walk)
        switch worker.labelOpenDirectory(root) {
        case .unchanged: report.visited += 1
        case .changed: report.visited += 1; report.changed += 1
        case .stop(let warning): report.warnings.append(warning)
        case .failure(let error): throw error
        }
        return report
    }

    /// Only a tree not finished before (its root lacks the label) on a file
    /// system where rewriting an equal label is harmless.
    static func mayWriteBlind(_ root: DirHandle, _ label: FileLabel) -> Bool {
        guard let type = Linux.fileSystemType(root.fd), WritePolicy.cheapRewrite(fileSystemType: type) else {
            return false
        }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { XattrAccess.get(SyscallNumber.fgetxattr, Int(root.fd), $0) }
        return !(n >= 0 && label.matches(Array(buffer[0..<n])))
    }

    static func defaultThreads() -> Int {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, min(online > 0 ? online : 1, 8))
    }

    static func needsEntryChecks(_ source: ResolvedSource) -> Bool {
        let (err, st) = Linux.statx(source.fd, "", flags: LinuxFlag.atEmptyPath, mask: LinuxFlag.statxMountID)
        guard err == 0, st.mask & LinuxFlag.statxMountID != 0,
              let text = MountTable.readOwn() else {
            return true // cannot tell: check every entry
        }
        return MountTable.needsEntryChecks(
            tree: source.path, treeMount: st.mountID, mounts: MountTable.parse(text),
            isDirectory: { path in
                var sb = stat()
                return stat(path, &sb) == 0 && (sb.st_mode & S_IFMT) == S_IFDIR
            })
    }

    /// A source that is not a directory (a file, socket or device bind
    /// mount): labeled through its LinuxFlag.openPath fd's proc link, which setxattr
    /// follows to the inode we opened, never further (verified for every
    /// file type, symlinks included).
    static func labelSingle(_ source: ResolvedSource, _ label: FileLabel) throws(RelabelError) -> RelabelReport {
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
        let r = link.withCString { path in
            label.stored.withUnsafeBytes { XattrAccess.set(SyscallNumber.setxattr, Int(bitPattern: path), $0) }
        }
        if r < 0 {
            let e = errno
            if let warning = Walk.tolerated(e, source.path) { return RelabelReport(visited: 1, warnings: [warning]) }
            throw .failed(source.path, "setxattr", errno: e)
        }
        return RelabelReport(visited: 1, changed: 1)
    }
}
