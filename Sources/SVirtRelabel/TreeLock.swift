#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
///   btrfs subvolume has a device of its own inside the same walk. Waiting
///   has no timeout: a walk stuck on its disk holds up every walk that
///   needs to write.
///
/// Lock files are removed on release, by the holder only; a waiter that
/// then holds a removed file's lock notices (the name no longer leads to
/// its file) and retries. A file whose flock failed is left for the next
/// holder to remove: unlinking a file someone else may hold would let two
/// processes hold the lock at once.
final class TreeLock {
    static let defaultDirectory = "/run/svirt-hook/relabel"

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

    static func forTree(_ root: Int32, directory: String) -> TreeLock? {
        var st = stat()
        guard fstat(root, &st) == 0 else { return nil }
        return acquire("tree-\(UInt64(st.st_dev))-\(UInt64(st.st_ino))", directory: directory)
    }

    /// The host's one write lock (see the type's comment); without
    /// `wait`, nil when another process holds it.
    static func forWrites(directory: String, wait: Bool = true) -> TreeLock? {
        acquire("writes", directory: directory, wait: wait)
    }

    /// Waits for the lock `name` (or, without `wait`, takes it only if it
    /// is free). nil when the lock directory is unusable (cannot be made,
    /// a symlink, not ours alone), the file cannot be opened, or it is
    /// held and `wait` is false: the caller then trusts and writes no stamp.
    static func acquire(_ name: String, directory: String, wait: Bool = true) -> TreeLock? {
        guard let dir = openPrivateDirectory(directory) else { return nil }
        defer { close(dir) }
        let path = directory + "/" + name
        while true {
            let fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            while flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
                if errno != EINTR {
                    close(fd)
                    return nil
                }
            }
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0, fstatat(dir, name, &named, AT_SYMLINK_NOFOLLOW) == 0,
               held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                return TreeLock(fd: fd, path: path)
            }
            close(fd) // the previous holder removed it: lock the current file
        }
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
