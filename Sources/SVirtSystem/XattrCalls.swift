import Glibc
import CLinux

public let selinuxXattrName = "security.selinux"

/// The extended attribute calls by number, each retrying EINTR and
/// returning -1 with errno set on failure, as glibc's wrappers do.
public enum XattrAccess {
    // struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; }
    @inline(__always)
    private static func withArgs<R>(_ value: UnsafeRawPointer?, _ size: Int, _ body: (Int) -> R) -> R {
        var args: (UInt64, UInt32, UInt32) = (UInt64(UInt(bitPattern: value)), UInt32(size), 0)
        return withUnsafeMutableBytes(of: &args) { body(Int(bitPattern: $0.baseAddress)) }
    }

    /// getxattrat(dir, name, AT_SYMLINK_NOFOLLOW): value length or -1.
    public static func getAt(_ dir: Int32, _ name: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        selinuxXattrName.withCString { key in
            withArgs(UnsafeRawPointer(buffer.baseAddress), buffer.count) { args in
                retrying {
                    RawSyscall.call(SyscallNumber.getxattrat, Int(dir), Int(bitPattern: name),
                                      Int(AT_SYMLINK_NOFOLLOW), Int(bitPattern: key), args, 16)
                }
            }
        }
    }

    /// setxattrat(dir, name, AT_SYMLINK_NOFOLLOW): 0 or -1.
    public static func setAt(_ dir: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeRawBufferPointer) -> Int {
        selinuxXattrName.withCString { key in
            withArgs(value.baseAddress, value.count) { args in
                retrying {
                    RawSyscall.call(SyscallNumber.setxattrat, Int(dir), Int(bitPattern: name),
                                      Int(AT_SYMLINK_NOFOLLOW), Int(bitPattern: key), args, 16)
                }
            }
        }
    }

    /// lgetxattr / getxattr / fgetxattr by number; `target` is a path or fd.
    public static func get(_ call: Int, _ target: Int, _ buffer: UnsafeMutableRawBufferPointer,
                    name: String = selinuxXattrName) -> Int {
        name.withCString { key in
            retrying {
                RawSyscall.call(call, target, Int(bitPattern: key),
                                  Int(bitPattern: buffer.baseAddress), buffer.count)
            }
        }
    }

    /// lsetxattr / setxattr / fsetxattr by number; `target` is a path or fd.
    public static func set(_ call: Int, _ target: Int, _ value: UnsafeRawBufferPointer,
                    name: String = selinuxXattrName, flags: Int = 0) -> Int {
        name.withCString { key in
            retrying {
                RawSyscall.call(call, target, Int(bitPattern: key),
                                  Int(bitPattern: value.baseAddress), value.count, flags)
            }
        }
    }

    /// lremovexattr: `path`'s own attribute, a final symlink not followed.
    public static func remove(path: UnsafePointer<CChar>, name: String) -> Int {
        name.withCString { key in
            retrying { RawSyscall.call(SyscallNumber.lremovexattr, Int(bitPattern: path), Int(bitPattern: key)) }
        }
    }

    /// fremovexattr of the directory open at `fd`.
    public static func remove(_ fd: Int32, name: String) -> Int {
        name.withCString { key in
            retrying { RawSyscall.call(SyscallNumber.fremovexattr, Int(fd), Int(bitPattern: key)) }
        }
    }

    @inline(__always)
    private static func retrying(_ body: () -> Int) -> Int {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }
}

