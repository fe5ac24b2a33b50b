import SVirtSystem
import SVirtPaths

/// How a directory entry's label is read and written without following it
/// and without a path the walk does not control.
///
/// Measured on this kernel (6.18) for regular files, directories, symlinks,
/// fifos, sockets and device nodes:
/// - `setxattrat`/`getxattrat(dirfd, name, AT_SYMLINK_NOFOLLOW)` (Linux
///   6.13+) label the entry itself, symlinks included: one system call, one
///   path component looked up in a directory we hold open.
/// - `fsetxattr` on an O_PATH fd fails with EBADF, and `lsetxattr` on
///   "/proc/self/fd/N" acts on the proc link itself (EOPNOTSUPP), so the
///   O_PATH-per-entry recipe needs an extra open and close per entry.
/// - `lsetxattr("/proc/self/fd/DIRFD/name")` works for every type: the
///   magic link pins the directory we opened, `name` is one component and
///   the final component is not followed. That is the fallback for kernels
///   without the *xattrat calls (ENOSYS).
/// Neither form can be redirected: a concurrent rename or symlink swap
/// changes which inode sits at `name` in that directory, never which
/// directory is searched, and a symlink at `name` is labeled, not followed.
enum XattrMethod: Sendable {
    case atCalls
    case procPath

    /// Picks the at-calls when the kernel has them (a seccomp filter may
    /// answer EPERM instead of ENOSYS: reading security.* is otherwise never
    /// refused), else the proc path if /proc shows our descriptor; nil when
    /// neither works. Without this check a missing /proc would make every
    /// entry look vanished (ENOENT) and the walk succeed having done nothing.
    /// The check is fstatat's, not statx's: kernels without the at-calls
    /// include those without statx (before 4.11, or filtered).
    static func probe(directory: FileDescriptor, calls: KernelCalls = KernelCalls()) -> XattrMethod? {
        if !calls.missing.contains(.xattrAtCalls) {
            do {
                _ = try directory.extendedAttributeSize(.selinux, ofEntry: ".")
                return .atCalls
            } catch where !error.meansCallMissing {
                return .atCalls
            } catch {}
        }
        guard let seen = try? FileDescriptor.currentDirectory.oldStatus("/proc/self/fd/\(directory.rawValue)/.", []),
              let own = try? directory.oldStatus("", .emptyPath),
              seen.device == own.device, seen.inode == own.inode else { return nil }
        return .procPath
    }
}

/// Reading and writing the stamp (TreeStamp) of a tree's root, and
/// removing the stamps that cover a write.
enum Stamps {
    /// The stamp as stored, read by `get` (an fd's or a path's), nil when
    /// there is none; empty when it is longer than any stamp we write (not
    /// ours, but present: removed before writing like any other).
    static func read(_ get: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096 + 64)
        let result = buffer.withUnsafeMutableBytes { raw in Result { () throws(Errno) -> Int in try get(raw) } }
        switch result {
        case .success(let n): return Array(buffer[0..<n])
        case .failure(let e): return e == .rangeTooSmall ? [] : nil
        }
    }

    static func read(_ fd: FileDescriptor) -> [UInt8]? {
        read { (buffer) throws(Errno) -> Int in try fd.extendedAttribute(TreeStamp.attribute, into: buffer) }
    }

    /// Best effort: without a stamp (no trusted.* here, EPERM in a user
    /// namespace) the next relabel reads everything.
    static func write(_ stamp: [UInt8], _ fd: FileDescriptor) {
        stamp.withUnsafeBytes { _ = try? fd.setExtendedAttribute(TreeStamp.attribute, to: $0) }
    }

    /// Replaces the stamp only if one is still there (XATTR_REPLACE). Only
    /// walks of this tree write its stamp, and they hold its tree lock, as
    /// the caller does; anyone else only removes it, before a write that
    /// it covers. So "still there" means "not removed since it was read",
    /// and the check and the write are one call.
    static func renew(_ stamp: [UInt8], _ fd: FileDescriptor) {
        stamp.withUnsafeBytes { _ = try? fd.setExtendedAttribute(TreeStamp.attribute, to: $0, options: .replace) }
    }
    /// nil when no stamp is left on the directory open at `fd`: removed,
    /// none there, or none possible (no trusted.* here, or invisible to us
    /// without CAP_SYS_ADMIN, so none we could have trusted). The errno
    /// when one is there and stays (an immutable directory, EROFS):
    /// nothing it covers may then be written.
    static func remove(fd: FileDescriptor) -> Errno? {
        settle({ () throws(Errno) in try fd.removeExtendedAttribute(TreeStamp.attribute) },
               probe: { () throws(Errno) in _ = try fd.extendedAttributeSize(TreeStamp.attribute) })
    }

    /// The same by path, for directories above a tree (a vanished one
    /// holds no stamp).
    static func remove(path: UnsafePointer<CChar>) -> Errno? {
        settle({ () throws(Errno) in try PathAttributes.remove(TreeStamp.attribute, of: path) },
               probe: { () throws(Errno) in
                   _ = try PathAttributes.size(TreeStamp.attribute, of: path, followingLinks: false)
               })
    }

    /// Removes the stamps of `paths` (directories above a tree, through
    /// every view of them). nil when none is left; else the first that
    /// stays and its errno. A directory seen through several mounts is
    /// one directory: a stamp that a read-only view refused may have gone
    /// through a writable one, so refusals are looked at again at the end.
    /// One that only read-only mounts show stays, and is no failure: the
    /// tree itself is writable, and no relabel through those mounts can
    /// write (a documented blind spot, should they turn writable).
    static func remove(paths: [FilePath]) -> (errno: Errno, path: FilePath)? {
        let refused = paths.filter { $0.withCString(remove(path:)) != nil }
        for path in refused {
            if let e = path.withCString(remove(path:)), e != .readOnlyFileSystem { return (e, path) }
        }
        return nil
    }

    /// A failed removal is no stamp left when the attribute is not there
    /// (or cannot be: no trusted.*, or not ours to see), by the removal's
    /// errno or a probe's; else the removal's errno.
    private static func settle(_ remove: () throws(Errno) -> Void, probe: () throws(Errno) -> Void) -> Errno? {
        let absent: [Errno] = [.noData, .notSupported, .noEntry]
        let refusal: Errno
        do { try remove(); return nil } catch { refusal = error }
        if absent.contains(refusal) { return nil }
        do { try probe() } catch where absent.contains(error) { return nil } catch {}
        return refusal
    }
}
