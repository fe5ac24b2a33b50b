import Glibc
import SVirtSystem

/// The system calls whose absence decides how mount points are recognized,
/// with a way for tests to pretend an older kernel (or a seccomp filter)
/// without one: the fallbacks cannot otherwise be exercised on this kernel.
struct KernelCalls: Sendable {
    struct Missing: OptionSet, Sendable {
        let rawValue: Int
        /// openat2 fails with ENOSYS (before 5.6).
        static let openat2 = Missing(rawValue: 1)
        /// statx fails with ENOSYS (before 4.11, or filtered).
        static let statx = Missing(rawValue: 2)
        /// statx answers without STATX_MNT_ID / STATX_ATTR_MOUNT_ROOT (before 5.8).
        static let statxMountID = Missing(rawValue: 4)
        /// /proc/self/fdinfo has no mnt_id (before 3.15, or no /proc).
        static let fdinfo = Missing(rawValue: 8)
    }

    var missing: Missing = []

    func openat2(_ dir: Int32, _ path: UnsafePointer<CChar>, flags: Int32, resolve: Int) -> Int32 {
        if missing.contains(.openat2) { errno = ENOSYS; return -1 }
        return Linux.openat2(dir, path, flags: flags, resolve: resolve)
    }

    /// statx, falling back to fstatat when statx is unavailable (then the
    /// mask lacks STATX_MNT_ID and the mount root attribute is unknown).
    /// The device numbers are always filled.
    func statEntry(_ dir: Int32, _ name: UnsafePointer<CChar>, flags: Int32, mask: UInt32) -> (Int32, StatX) {
        if !missing.contains(.statx) {
            var (e, st) = Linux.statx(dir, name, flags: flags, mask: mask)
            if e != ENOSYS && e != EPERM {
                if missing.contains(.statxMountID) {
                    st.mask &= ~LinuxFlag.statxMountID
                    st.mountID = 0
                    st.attributesMask &= ~LinuxFlag.statxAttrMountRoot
                }
                return (e, st)
            }
        }
        var old = Glibc.stat()
        let atFlags = flags & (AT_SYMLINK_NOFOLLOW | LinuxFlag.atEmptyPath | LinuxFlag.atNoAutomount)
        guard fstatat(dir, name, &old, atFlags) == 0 else { return (errno, StatX()) }
        var st = StatX()
        st.mask = LinuxFlag.statxType | LinuxFlag.statxIno
        st.mode = UInt16(truncatingIfNeeded: old.st_mode)
        st.ino = UInt64(old.st_ino)
        st.devMajor = MountIdentity.major(old.st_dev)
        st.devMinor = MountIdentity.minor(old.st_dev)
        return (0, st)
    }

    /// The mount ID of the mount holding `fd`: statx's when it has one
    /// (5.8+), else /proc/self/fdinfo's mnt_id (3.15+); nil when neither.
    func mountID(_ fd: Int32) -> UInt64? {
        let (e, st) = statEntry(fd, "", flags: LinuxFlag.atEmptyPath, mask: LinuxFlag.statxMountID)
        if e == 0 && st.mask & LinuxFlag.statxMountID != 0 { return st.mountID }
        return fdinfoMountID(fd)
    }

    func fdinfoMountID(_ fd: Int32) -> UInt64? {
        missing.contains(.fdinfo) ? nil : MountIdentity.fdinfoMountID(fd)
    }

    /// The mount ID of what `name` in `dir` is, without following a
    /// symlink: an O_PATH open (which, like any lookup, lands on whatever is
    /// mounted there) and its fdinfo.
    func mountID(_ dir: Int32, _ name: UnsafePointer<CChar>) -> UInt64? {
        let fd = openat(dir, name, LinuxFlag.openPath | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return fdinfoMountID(fd)
    }
}

/// Whether an entry of the tree is a mount point, decided from the most
/// exact signal available, and failing closed when none is.
enum MountIdentity {
    static let unknownReason = "cannot tell whether it is a mount point (no mount ID from statx or /proc/self/fdinfo)"

    enum Verdict: Equatable {
        case sameMount
        case mountPoint
        /// No signal tells: the caller must not label or enter the entry.
        case unknown
    }

    /// The tree's own mount: every directory the walk holds is on it (the
    /// walk never enters another), so each entry is compared with it.
    struct Root: Sendable {
        let devMajor: UInt32
        let devMinor: UInt32
        let mountID: UInt64?
    }

    /// `entry` was statted without following it. Order: statx's mount ID
    /// (exact), the mount root attribute (exact), `fallbackMountID` (fdinfo
    /// of an fd opened on the entry: exact, but costs an open), then a
    /// device other than the tree's (a mount point, or a btrfs subvolume:
    /// not crossing it is the safe side), else unknown. The device comes
    /// last because overlayfs reports a lower layer's device for files,
    /// and because equal devices prove nothing: a bind mount of a directory
    /// of the same file system has the same device.
    static func judge(_ entry: StatX, root: Root, fallbackMountID: () -> UInt64?) -> Verdict {
        if entry.mask & LinuxFlag.statxMountID != 0, let rootID = root.mountID {
            return entry.mountID == rootID ? .sameMount : .mountPoint
        }
        if let isRoot = entry.isMountRoot { return isRoot ? .mountPoint : .sameMount }
        if let rootID = root.mountID, let id = fallbackMountID() {
            return id == rootID ? .sameMount : .mountPoint
        }
        if entry.devMajor != root.devMajor || entry.devMinor != root.devMinor { return .mountPoint }
        return .unknown
    }

    /// glibc's dev_t encoding (its gnu_dev_major/minor are macros Swift
    /// does not import).
    static func major(_ dev: dev_t) -> UInt32 {
        UInt32(truncatingIfNeeded: ((UInt64(dev) >> 8) & 0xfff) | ((UInt64(dev) >> 32) & ~0xfff))
    }

    static func minor(_ dev: dev_t) -> UInt32 {
        UInt32(truncatingIfNeeded: (UInt64(dev) & 0xff) | ((UInt64(dev) >> 12) & ~0xff))
    }

    /// The "mnt_id:" line of /proc/self/fdinfo/FD.
    static func fdinfoMountID(_ fd: Int32) -> UInt64? {
        let file = open("/proc/self/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var length = 0
        while length < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress! + length, $0.count - length) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            length += n
        }
        return parseFdinfoMountID(Array(buffer[0..<length]))
    }

    static func parseFdinfoMountID(_ text: [UInt8]) -> UInt64? {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let s = String(decoding: line, as: UTF8.self)
            guard s.hasPrefix("mnt_id:") else { continue }
            return UInt64(s.dropFirst("mnt_id:".count).trimmingWhitespace)
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingWhitespace: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
