import Glibc

/// An errno value with its C name's meaning, so errors can say "EACCES" and
/// callers can match on the exact cause (ENOENT mid-walk is not a failure).
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(rawValue: errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let noEntry = Errno(rawValue: ENOENT)
    public static let exists = Errno(rawValue: EEXIST)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let accessDenied = Errno(rawValue: EACCES)
    public static let permissionDenied = Errno(rawValue: EPERM)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let isDirectory = Errno(rawValue: EISDIR)
    public static let tooManyLinks = Errno(rawValue: ELOOP)
    public static let noData = Errno(rawValue: ENODATA)
    public static let rangeTooSmall = Errno(rawValue: ERANGE)
    public static let invalid = Errno(rawValue: EINVAL)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let crossDevice = Errno(rawValue: EXDEV)
    public static let noProcess = Errno(rawValue: ESRCH)
    public static let noSystemCall = Errno(rawValue: ENOSYS)
    public static let notEmpty = Errno(rawValue: ENOTEMPTY)
    public static let nameTooLong = Errno(rawValue: ENAMETOOLONG)
    public static let tooBig = Errno(rawValue: EFBIG)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)

    /// The call is not there to be made: an older kernel (ENOSYS), or a
    /// seccomp filter that answers EPERM for calls it does not know.
    public var meansCallMissing: Bool { self == .noSystemCall || self == .permissionDenied }
}

/// The one place a call that returns -1 with errno set is retried on
/// EINTR; its result, or its Errno thrown.
@inline(__always)
@discardableResult
public func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let err = Errno.current
        if err != .interrupted { throw err }
    }
}

/// A failed system call: which call, on which path (if any), and why.
/// Its description is one line, ready for stderr and syslog.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String?
    public let errno: Errno

    public init(_ call: String, path: String? = nil, errno: Errno = .current) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        if let path { return "\(call) \(path): \(errno)" }
        return "\(call): \(errno)"
    }
}

/// Runs a system call that returns -1 on failure, retrying on EINTR, and
/// throws a `SystemError` naming the call (and path) otherwise.
@inline(__always)
@discardableResult
public func syscall<T: FixedWidthInteger>(
    _ name: String, path: String? = nil, _ body: () -> T
) throws(SystemError) -> T {
    do {
        return try retryingInterrupts(body)
    } catch {
        throw SystemError(name, path: path, errno: error)
    }
}
