import Glibc
import SVirtPaths

/// Whole-file operations with the guarantees a hook needs: bounded reads and
/// writes that are either complete or absent.
public enum Files {
    /// Reads a regular file whole, refusing more than `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { fd.close() }
        do {
            return try fd.readAll(limit: limit)
        } catch {
            throw SystemError(error.call, path: path, errno: error.errno)
        }
    }

    /// Names in a directory, without `.` and `..`. With `noFollow` a
    /// symbolic link fails (ELOOP or ENOTDIR) instead of being listed through:
    /// entries inside the store are never links, and following one would let
    /// the store's gc delete files outside the store.
    public static func entries(_ path: String, noFollow: Bool = false) throws(SystemError) -> [String] {
        let fd = try FileDescriptor.open(path, noFollow ? [.directory, .noFollow] : .directory)
        guard let dir = fdopendir(fd.rawValue) else {
            let error = SystemError("fdopendir", path: path)
            fd.close()
            throw error
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("readdir", path: path) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// Replaces `path` atomically: a temporary file in the same directory is
    /// written, fsynced and renamed over it, then the directory is fsynced.
    /// A reader sees the old file or the new one, never a half-written one,
    /// and a crash at any point leaves at most a stray temporary file.
    /// The new file keeps the old one's mode, and its owner where the
    /// caller may set it (root can). A symlink is replaced at its target:
    /// replacing the link itself would silently detach it from the file it
    /// names (a bundle's config.json kept elsewhere).
    public static func replaceAtomically(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let target = try resolvingSymlink(path)
        let slash = target.lastIndex(of: "/")
        let dir = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target

        var keepMode = mode
        var owner: (uid: uid_t, gid: gid_t)?
        var st = stat()
        if stat(target, &st) == 0 {
            keepMode = st.st_mode & 0o7777
            owner = (st.st_uid, st.st_gid)
        }

        let dirFD = try FileDescriptor.open(dir, .directory)
        defer { dirFD.close() }
        let (fd, temp) = try createTemporary(near: name, in: dirFD, dir: dir, mode: keepMode)
        var committed = false
        defer {
            fd.close()
            if !committed { _ = unlinkat(dirFD.rawValue, temp, 0) }
        }
        do {
            try fd.writeAll(bytes)
            _ = fchmod(fd.rawValue, keepMode) // umask must not narrow the mode we keep
            if let owner { _ = fchown(fd.rawValue, owner.uid, owner.gid) } // EPERM unless root: keep ours
            try fd.sync()
        } catch {
            throw SystemError(error.call, path: "\(dir)/\(temp)", errno: error.errno)
        }
        try syscall("rename", path: target) { renameat(dirFD.rawValue, temp, dirFD.rawValue, name) }
        committed = true
        // The rename is durable only once the directory entry is on disk.
        try syscall("fsync", path: dir) { fsync(dirFD.rawValue) }
    }

    /// realpath(3): absolute, with every symlink and `.`/`..` resolved.
    public static func realPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError("realpath", path: path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// realpath(3) with the bytes kept as the kernel gave them.
    public static func realPath(_ path: FilePath) throws(SystemError) -> FilePath {
        let resolved = path.withCString { realpath($0, nil) }
        guard let resolved else { throw SystemError("realpath", path: path.description) }
        defer { free(resolved) }
        return FilePath(bytes: UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
    }

    /// `path`, or the file it names when it is a symlink.
    static func resolvingSymlink(_ path: String) throws(SystemError) -> String {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return path }
        return try realPath(path)
    }

    /// The pid that made a temporary of `replaceAtomically` named `name`
    /// (`.NAME.svirt-PID-RANDOM`), so a cleaner can remove those of dead
    /// processes; nil for any other name.
    public static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix(".") else { return nil }
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 3].hasSuffix(".svirt"),
              !parts[parts.count - 1].isEmpty, parts[parts.count - 1].allSatisfy(\.isHexDigit),
              let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return nil }
        return pid
    }

    /// A new file `.NAME.svirt-PID-RANDOM` beside the target. The random
    /// part keeps a leftover of a killed run from blocking every later
    /// rewrite once its pid is reused (pid namespaces reuse them quickly).
    static func createTemporary(
        near name: String, in dirFD: FileDescriptor, dir: String, mode: mode_t
    ) throws(SystemError) -> (FileDescriptor, String) {
        var attempt = 0
        while true {
            let temp = ".\(name).svirt-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            do {
                let fd = try FileDescriptor.open(temp, [.writeOnly, .create, .exclusive, .truncate], mode: mode, relativeTo: dirFD)
                return (fd, temp)
            } catch where error.errno == .exists && attempt < 8 {
                attempt += 1
            } catch {
                throw SystemError(error.call, path: "\(dir)/\(temp)", errno: error.errno)
            }
        }
    }
}
