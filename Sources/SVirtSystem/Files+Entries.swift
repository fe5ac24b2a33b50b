import Glibc
import CLinux

/// The calls the reservation store makes for its entries: a rename that
/// never replaces, small whole-file reads, entry kinds, idempotent mkdir,
/// directory fsync.
extension Files {
    /// rename(2) that fails with EEXIST instead of replacing the target:
    /// a plain rename would silently replace an empty directory, which is
    /// exactly what a half-released level looks like.
    public static func renameNoReplace(_ from: String, _ to: String) throws(SystemError) {
        do {
            try FileDescriptor.currentDirectory.rename(from, to: to, options: .noReplace)
        } catch {
            throw SystemError("renameat2", path: to, errno: error)
        }
    }

    /// Reads a small file whole through `fd`, naming `path` in errors.
    public static func readSmall(_ fd: FileDescriptor, path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        do {
            return try fd.readAll(limit: limit)
        } catch {
            throw SystemError(error.call, path: path, errno: error.errno)
        }
    }

    public static func readSmall(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, [.noFollow, .nonBlocking])
        defer { fd.close() }
        return try readSmall(fd, path: path)
    }


    /// What a store entry is when it is not a regular file ("a directory",
    /// "a symbolic link", ...); nil for a regular file or one that is gone.
    public static func nonRegularKind(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return kindName(st.st_mode)
    }

    public static func nonRegularKind(fd: FileDescriptor) -> String? {
        guard let st = try? fd.status() else { return nil }
        return kindName(st.st_mode)
    }

    private static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        default: return "a device"
        }
    }

    public static func exists(_ path: String) -> Bool {
        (try? status(path, followingLinks: false)) != nil
    }

    /// stat(2), or lstat(2) without `followingLinks`.
    public static func status(_ path: String, followingLinks: Bool = true) throws(SystemError) -> stat {
        var st = stat()
        try syscall(followingLinks ? "stat" : "lstat", path: path) { followingLinks ? stat(path, &st) : lstat(path, &st) }
        return st
    }

    /// access(2) for reading and searching (or executing).
    public static func checkReadAndSearch(_ path: String) throws(SystemError) {
        try syscall("access", path: path) { access(path, R_OK | X_OK) }
    }

    /// access(2) for writing.
    public static func checkWritable(_ path: String) throws(SystemError) {
        try syscall("access", path: path) { access(path, W_OK) }
    }

    /// unlink(2); with `missingOK` a file already gone is no failure.
    public static func remove(_ path: String, missingOK: Bool = false) throws(SystemError) {
        do {
            try retryingInterrupts { unlink(path) }
        } catch where missingOK && error == .noEntry {
        } catch {
            throw SystemError("unlink", path: path, errno: error)
        }
    }

    /// rmdir(2): only an empty directory goes.
    public static func removeDirectory(_ path: String) throws(SystemError) {
        try syscall("rmdir", path: path) { rmdir(path) }
    }

    /// mkdir(2) of a directory that must not exist yet (EEXIST otherwise).
    public static func createDirectory(_ path: String, mode: mode_t) throws(SystemError) {
        try syscall("mkdir", path: path) { mkdir(path, mode) }
    }

    /// statfs(2)'s f_type.
    public static func fileSystemType(_ path: String) throws(SystemError) -> Int {
        try syscall("statfs", path: path) { svirt_fs_type(path) }
    }

    /// mkdir that treats an existing directory as success.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if mkdir(path, mode) == 0 { return }
        let err = Errno.current
        var st = stat()
        if err == .exists && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
        throw SystemError("mkdir", path: path, errno: err == .exists ? .notDirectory : err)
    }

    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, .directory)
        defer { fd.close() }
        do { try fd.sync() } catch { throw SystemError("fsync", path: path, errno: error.errno) }
    }

    /// A regular file (after symlinks) this process may execute: what a
    /// hook registration or a runtime path must name.
    public static func isExecutableFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }
}
