import Glibc
import CLinux

/// The time of a file's change or modification, to the nanosecond, as
/// statx gives it.
public struct FileTime: Sendable, Equatable, Comparable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (a: FileTime, b: FileTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

/// Raw Linux system calls that Swift's Glibc module does not expose on
/// Debian 12 (glibc 2.36 hides getdents64/statx behind _GNU_SOURCE, has no
/// xattr declarations in the module, and predates openat2, setxattrat and
/// getxattrat).
///
/// glibc's variadic `syscall(3)` cannot be called from Swift; CLinux's
/// fixed six-argument wrapper calls it, resolved at link time so that it
/// works in a static binary too. Each call returns -1 with errno set on
/// failure, like every glibc wrapper.
public enum RawSyscall {
    @inlinable @inline(__always)
    public static func call(_ number: Int, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0,
                     _ d: Int = 0, _ e: Int = 0, _ f: Int = 0) -> Int {
        svirt_syscall6(number, a, b, c, d, e, f)
    }
}

/// System call numbers, from the C headers of the architecture built for
/// (CLinux's shim, which supplies the calls newer than the headers).
public enum SyscallNumber {
    public static let setxattr = svirt_sys_setxattr, lsetxattr = svirt_sys_lsetxattr, fsetxattr = svirt_sys_fsetxattr
    public static let getxattr = svirt_sys_getxattr, lgetxattr = svirt_sys_lgetxattr, fgetxattr = svirt_sys_fgetxattr
    public static let lremovexattr = svirt_sys_lremovexattr, fremovexattr = svirt_sys_fremovexattr
    public static let getdents64 = svirt_sys_getdents64
    public static let setxattrat = svirt_sys_setxattrat
    public static let getxattrat = svirt_sys_getxattrat
}

/// Flags: from the kernel headers through CLinux where the Glibc module
/// hides them; by value where even those headers predate them.
public enum LinuxFlag {
    /// setxattr: fail with ENODATA unless the attribute exists.
    public static let xattrReplace = 2
    public static let resolveNoXDev = Int(svirt_resolve_no_xdev)
    public static let resolveNoMagicLinks = Int(svirt_resolve_no_magiclinks)
    public static let resolveNoSymlinks = Int(svirt_resolve_no_symlinks)
    public static let statxType = svirt_statx_type
    public static let statxMtime = svirt_statx_mtime
    public static let statxCtime = svirt_statx_ctime
    public static let statxIno = svirt_statx_ino
    public static let statxMountID = svirt_statx_mnt_id
    public static let statxAttrMountRoot = UInt64(svirt_statx_attr_mount_root)
    /// <fcntl.h> hides these without _GNU_SOURCE.
    public static let openPath: Int32 = 0o10000000
    public static let atEmptyPath: Int32 = 0x1000
    public static let atNoAutomount: Int32 = 0x800
    public static let atStatxDontSync: Int32 = 0x4000
}

/// The fields of `struct statx` we read, decoded from its fixed layout.
public struct StatX: Sendable {
    public init() {}
    public var mask: UInt32 = 0
    public var attributes: UInt64 = 0
    public var mode: UInt16 = 0
    public var ino: UInt64 = 0
    public var attributesMask: UInt64 = 0
    public var devMajor: UInt32 = 0
    public var devMinor: UInt32 = 0
    public var mountID: UInt64 = 0
    public var mtime = FileTime(seconds: 0, nanoseconds: 0)
    public var ctime = FileTime(seconds: 0, nanoseconds: 0)

    public var fileType: UInt16 { mode & UInt16(S_IFMT) }
    public var isDirectory: Bool { fileType == UInt16(S_IFDIR) }

    /// nil when the kernel cannot tell (older than 5.8).
    public var isMountRoot: Bool? {
        attributesMask & LinuxFlag.statxAttrMountRoot != 0
            ? attributes & LinuxFlag.statxAttrMountRoot != 0 : nil
    }
}

public enum Linux {
    /// statx(2), read through the kernel header's struct (CLinux).
    public static func statx(_ dir: Int32, _ name: UnsafePointer<CChar>, flags: Int32, mask: UInt32) -> (Int32, StatX) {
        var raw = svirt_statx()
        let e = svirt_statx(dir, name, flags, mask, &raw)
        guard e == 0 else { return (e, StatX()) }
        var st = StatX()
        st.mask = raw.mask
        st.attributes = raw.attributes
        st.mode = raw.mode
        st.ino = raw.ino
        st.attributesMask = raw.attributes_mask
        st.ctime = FileTime(seconds: raw.ctime_sec, nanoseconds: raw.ctime_nsec)
        st.mtime = FileTime(seconds: raw.mtime_sec, nanoseconds: raw.mtime_nsec)
        st.devMajor = raw.dev_major
        st.devMinor = raw.dev_minor
        st.mountID = raw.mnt_id
        return (0, st)
    }

    /// openat2(2) with the header's struct open_how (CLinux); the fd or -1
    /// with errno set (ENOSYS before 5.6).
    public static func openat2(_ dir: Int32, _ path: UnsafePointer<CChar>, flags: Int32, resolve: Int) -> Int32 {
        svirt_openat2(dir, path, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(resolve))
    }

    /// fstatfs(2)'s f_type, nil on error.
    public static func fileSystemType(_ fd: Int32) -> Int? {
        let type = svirt_fd_fs_type(fd)
        return type < 0 ? nil : type
    }

    /// The file system's used inodes, nil on error or when it keeps no
    /// inode count (struct statfs is read in C: its layout is the
    /// header's, not a hand-counted offset).
    public static func usedInodes(_ fd: Int32) -> Int? {
        let used = svirt_fd_used_inodes(fd)
        return used < 0 ? nil : Int(used)
    }

    /// getdents64(2) into `buffer`; bytes read, 0 at the end, -1 on error.
    public static func getdents64(_ dir: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        var result: Int
        repeat {
            result = RawSyscall.call(SyscallNumber.getdents64, Int(dir),
                                       Int(bitPattern: buffer.baseAddress), buffer.count)
        } while result == -1 && errno == EINTR
        return result
    }
}
