import Glibc
import CLinux

/// An extended attribute's name: a literal, so its C string is there for
/// the life of the program and a call per file converts nothing.
public struct XattrName: Sendable, CustomStringConvertible {
    private let name: StaticString
    public init(_ name: StaticString) {
        precondition(name.hasPointerRepresentation, "an xattr name is a string literal of more than one scalar")
        self.name = name
    }

    public static let selinux = XattrName("security.selinux")

    public var description: String { name.description }

    @inline(__always)
    var cString: Int { Int(bitPattern: name.utf8Start) }
}

/// setxattr(2)'s flags.
public struct XattrOptions: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// EEXIST when the attribute is already there.
    public static let create = XattrOptions(rawValue: 1)
    /// ENODATA unless the attribute is already there.
    public static let replace = XattrOptions(rawValue: 2)
}

/// Extended attributes of the file open here, and of the entries of the
/// directory open here. Glibc's module declares none of these calls, and
/// the *xattrat ones are newer than it, so all go by number. A read returns
/// the value's length (ERANGE when `buffer` is too small; a zero-length
/// buffer asks only whether the attribute is there).
extension FileDescriptor {
    /// fgetxattr(2).
    public func extendedAttribute(_ name: XattrName, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingInterrupts {
            RawSyscall.call(SyscallNumber.fgetxattr, Int(rawValue), name.cString,
                            Int(bitPattern: buffer.baseAddress), buffer.count)
        }
    }

    /// The value's length: whether the attribute is there, without reading it.
    public func extendedAttributeSize(_ name: XattrName) throws(Errno) -> Int {
        try extendedAttribute(name, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// fsetxattr(2).
    public func setExtendedAttribute(_ name: XattrName, to value: UnsafeRawBufferPointer,
                                     options: XattrOptions = []) throws(Errno) {
        try retryingInterrupts {
            RawSyscall.call(SyscallNumber.fsetxattr, Int(rawValue), name.cString,
                            Int(bitPattern: value.baseAddress), value.count, options.rawValue)
        }
    }

    /// fremovexattr(2).
    public func removeExtendedAttribute(_ name: XattrName) throws(Errno) {
        try retryingInterrupts { RawSyscall.call(SyscallNumber.fremovexattr, Int(rawValue), name.cString) }
    }

    /// getxattrat(2) of `entry` in this directory, a final symlink not
    /// followed (Linux 6.13+; ENOSYS before).
    public func extendedAttribute(_ name: XattrName, ofEntry entry: UnsafePointer<CChar>,
                                  into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try XattrArgs.with(UnsafeRawPointer(buffer.baseAddress), buffer.count) { (args) throws(Errno) -> Int in
            try retryingInterrupts {
                RawSyscall.call(SyscallNumber.getxattrat, Int(rawValue), Int(bitPattern: entry),
                                Int(AT_SYMLINK_NOFOLLOW), name.cString, args, XattrArgs.size)
            }
        }
    }

    public func extendedAttributeSize(_ name: XattrName, ofEntry entry: UnsafePointer<CChar>) throws(Errno) -> Int {
        try extendedAttribute(name, ofEntry: entry, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// setxattrat(2) of `entry` in this directory, a final symlink not
    /// followed (Linux 6.13+; ENOSYS before).
    public func setExtendedAttribute(_ name: XattrName, ofEntry entry: UnsafePointer<CChar>,
                                     to value: UnsafeRawBufferPointer) throws(Errno) {
        try XattrArgs.with(value.baseAddress, value.count) { (args) throws(Errno) -> Void in
            try retryingInterrupts {
                RawSyscall.call(SyscallNumber.setxattrat, Int(rawValue), Int(bitPattern: entry),
                                Int(AT_SYMLINK_NOFOLLOW), name.cString, args, XattrArgs.size)
            }
        }
    }
}

/// Extended attributes by path: getxattr/setxattr (`followingLinks`) or
/// lgetxattr/lsetxattr/lremovexattr (the final component itself).
public enum PathAttributes {
    public static func get(_ name: XattrName, of path: UnsafePointer<CChar>, followingLinks: Bool,
                           into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingInterrupts {
            RawSyscall.call(followingLinks ? SyscallNumber.getxattr : SyscallNumber.lgetxattr,
                            Int(bitPattern: path), name.cString, Int(bitPattern: buffer.baseAddress), buffer.count)
        }
    }

    public static func size(_ name: XattrName, of path: UnsafePointer<CChar>, followingLinks: Bool) throws(Errno) -> Int {
        try get(name, of: path, followingLinks: followingLinks, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    public static func set(_ name: XattrName, of path: UnsafePointer<CChar>, followingLinks: Bool,
                           to value: UnsafeRawBufferPointer) throws(Errno) {
        try retryingInterrupts {
            RawSyscall.call(followingLinks ? SyscallNumber.setxattr : SyscallNumber.lsetxattr,
                            Int(bitPattern: path), name.cString, Int(bitPattern: value.baseAddress), value.count, 0)
        }
    }

    /// lremovexattr(2): the final component's own attribute.
    public static func remove(_ name: XattrName, of path: UnsafePointer<CChar>) throws(Errno) {
        try retryingInterrupts { RawSyscall.call(SyscallNumber.lremovexattr, Int(bitPattern: path), name.cString) }
    }
}

/// `struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; }`,
/// which the *xattrat calls take by pointer.
private enum XattrArgs {
    static let size = 16

    @inline(__always)
    static func with<R>(_ value: UnsafeRawPointer?, _ count: Int,
                        _ body: (Int) throws(Errno) -> R) throws(Errno) -> R {
        var args: (UInt64, UInt32, UInt32) = (UInt64(UInt(bitPattern: value)), UInt32(count), 0)
        // withUnsafeMutableBytes rethrows untyped: carry the Errno out.
        let result = withUnsafeMutableBytes(of: &args) { raw in
            Result { () throws(Errno) -> R in try body(Int(bitPattern: raw.baseAddress)) }
        }
        return try result.get()
    }
}
