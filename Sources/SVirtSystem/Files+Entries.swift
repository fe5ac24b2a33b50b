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
        try syscall("renameat2", path: to) { svirt_renameat2(AT_FDCWD, from, AT_FDCWD, to, UInt32(RENAME_NOREPLACE)) }
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
        let fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
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

    public static func nonRegularKind(fd: Int32) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
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
        var st = stat()
        return lstat(path, &st) == 0
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
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
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
