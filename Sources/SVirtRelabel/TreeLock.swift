#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Serializes relabels of one tree among svirt processes, from reading the
/// tree's stamp to writing it: two walks to different labels interleaved
/// would otherwise leave mixed labels under a stamp that one of them
/// wrote. Keyed by the root's device and inode, in a root-only directory
/// under /run, not on the tree itself: a container sharing the volume
/// could hold a lock on the tree's directory forever. The lock goes with
/// the descriptor, so a killed relabel releases it.
final class TreeLock {
    static let defaultDirectory = "/run/svirt-hook/relabel"

    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Waits for the lock of the tree open at `root`. nil when the lock
    /// directory cannot be made or the lock file opened: the caller then
    /// neither trusts nor writes a stamp.
    static func acquire(root: Int32, directory: String) -> TreeLock? {
        var st = stat()
        guard fstat(root, &st) == 0, makeDirectories(directory) else { return nil }
        let name = "\(directory)/\(UInt64(st.st_dev))-\(UInt64(st.st_ino))"
        let fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                close(fd)
                return nil
            }
        }
        return TreeLock(fd: fd)
    }

    private static func makeDirectories(_ path: String) -> Bool {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}
