#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SVirtSystem

/// Locks that keep tree stamps true while svirt processes relabel at once,
/// as lock files in a root-only directory under /run, not on the trees:
/// a container sharing a volume could hold a lock on its directory forever.
/// A lock goes with its descriptor, so a killed relabel releases it.
///
/// - The tree lock (per root device and inode) is held from reading a
///   tree's stamp to writing it: two walks of one tree take turns.
/// - The write lock (one per host) is held by every walk that writes, from
///   before its first read to its end, and by a file volume's relabel:
///   writers take turns, so a walk of a tree nested in another one's
///   cannot interleave its labels with the outer walk's under the outer
///   stamp. A walk that trusts a stamp reads without it and, if it finds
///   something to write, starts over under it; if it writes nothing, it
///   renews its stamp only under the lock, taken if free, and only if the
///   stamp is still the one it read. One lock, not one per device: a
///   btrfs subvolume has a device of its own inside the same walk.
///
/// Waiting is bounded (`defaultTimeout`, 300 s: long enough for a first
/// pass over millions of files, short of a container start that never
/// ends): a walk stuck on its disk would otherwise hold up every walk that
/// needs to write. The holder writes its pid into the lock file, so a
/// waiter that gives up can say who held it.
///
/// Lock files are removed on release, by the holder only; a waiter that
/// then holds a removed file's lock notices (the name no longer leads to
/// its file) and retries. A file whose flock failed is left for the next
/// holder to remove: unlinking a file someone else may hold would let two
/// processes hold the lock at once.
final class TreeLock {
    static let defaultDirectory = "/run/svirt-hook/relabel"
    public static let defaultTimeout: Double = 300

    /// The lock stayed held for the whole timeout.
    struct Timeout: Error {
        let name: String
        /// "pid N (command)" as the lock file and /proc tell, or "unknown".
        let holder: String
    }

    private let fd: Int32
    private let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        unlink(path) // before closing: nobody can lock this file once it is unreachable
        close(fd)
    }

    static func forTree(_ root: Int32, directory: String,
                        timeout: Double = defaultTimeout) throws(Timeout) -> TreeLock? {
        var st = stat()
        guard fstat(root, &st) == 0 else { return nil }
        return try acquire("tree-\(UInt64(st.st_dev))-\(UInt64(st.st_ino))", directory: directory, timeout: timeout)
    }

    /// The host's one write lock (see the type's comment); without
    /// `wait`, nil when another process holds it.
    static func forWrites(directory: String, wait: Bool = true,
                          timeout: Double = defaultTimeout) throws(Timeout) -> TreeLock? {
        try acquire("writes", directory: directory, wait: wait, timeout: timeout)
    }

    /// Waits up to `timeout` seconds for the lock `name` (or, without
    /// `wait`, takes it only if it is free). nil when the lock directory is
    /// unusable (cannot be made, a symlink, not ours alone), the file
    /// cannot be opened, or it is held and `wait` is false: the caller then
    /// trusts and writes no stamp. Throws when the wait timed out.
    static func acquire(_ name: String, directory: String, wait: Bool = true,
                        timeout: Double = defaultTimeout) throws(Timeout) -> TreeLock? {
        guard let dir = openPrivateDirectory(directory) else { return nil }
        defer { close(dir) }
        let path = directory + "/" + name
        let deadline = monotonicSeconds() + timeout
        var pause: UInt32 = 1_000
        while true {
            let fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            // Polled rather than blocking: flock has no timeout of its own,
            // and a signal-based one would need process-wide state.
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                if e == EINTR { continue }
                guard e == EWOULDBLOCK, wait else {
                    close(fd)
                    return nil
                }
                if monotonicSeconds() >= deadline {
                    let holder = holderOf(fd)
                    close(fd)
                    throw Timeout(name: name, holder: holder)
                }
                usleep(pause)
                pause = min(pause * 2, 50_000)
            }
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0, fstatat(dir, name, &named, AT_SYMLINK_NOFOLLOW) == 0,
               held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                let pid = Array("\(getpid())\n".utf8)
                if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
                return TreeLock(fd: fd, path: path)
            }
            close(fd) // the previous holder removed it: lock the current file
        }
    }

    /// Who holds the lock file open at `fd`: the pid its holder wrote, and
    /// that process's command name.
    private static func holderOf(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0, let pid = Int32(String(decoding: buffer[0..<n], as: UTF8.self)
            .split(separator: "\n").first ?? "") else { return "unknown" }
        guard let comm = try? Files.read("/proc/\(pid)/comm", limit: 64), !comm.isEmpty else { return "pid \(pid)" }
        return "pid \(pid) (\(String(decoding: comm, as: UTF8.self).split(separator: "\n").first ?? ""))"
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Opens (making what is missing, mode 0700) `path` without following
    /// a symlink at any component, and only if the directory itself is
    /// owned by us and writable by nobody else.
    private static func openPrivateDirectory(_ path: String) -> Int32? {
        guard path.hasPrefix("/") else { return nil }
        var fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        for part in path.split(separator: "/") {
            var next = openat(fd, String(part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT {
                if mkdirat(fd, String(part), 0o700) != 0 && errno != EEXIST {
                    close(fd)
                    return nil
                }
                next = openat(fd, String(part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            close(fd)
            guard next >= 0 else { return nil }
            fd = next
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
