#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whole-file operations with the guarantees a hook needs: bounded reads and
/// writes that are either complete or absent.
public enum Files {
    /// Reads a regular file whole, refusing more than `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { fd.close() }
        do {
            return try fd.readAll(limit: limit)
        } catch {
            throw SystemError(error.call, path: path, errno: error.errno)
        }
    }

    /// Replaces `path` atomically: a temporary file in the same directory is
    /// written, fsynced and renamed over it, then the directory is fsynced.
    /// A reader sees the old file or the new one, never a half-written one,
    /// and a crash at any point leaves at most a stray temporary file.
    /// The new file keeps the old one's mode when it existed.
    public static func replaceAtomically(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path

        var keepMode = mode
        var st = stat()
        if stat(path, &st) == 0 { keepMode = st.st_mode & 0o7777 }

        let dirFD = try FileDescriptor.open(dir, O_RDONLY | O_DIRECTORY)
        defer { dirFD.close() }
        let temp = ".\(name).svirt-\(getpid())"
        let fd = try FileDescriptor.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode: keepMode, relativeTo: dirFD)
        var committed = false
        defer {
            fd.close()
            if !committed { _ = unlinkat(dirFD.rawValue, temp, 0) }
        }
        do {
            try fd.writeAll(bytes)
            _ = fchmod(fd.rawValue, keepMode) // umask must not narrow the mode we keep
            try fd.sync()
        } catch {
            throw SystemError(error.call, path: "\(dir)/\(temp)", errno: error.errno)
        }
        try syscall("rename", path: path) { renameat(dirFD.rawValue, temp, dirFD.rawValue, name) }
        committed = true
        // The rename is durable only once the directory entry is on disk.
        try syscall("fsync", path: dir) { fsync(dirFD.rawValue) }
    }
}
