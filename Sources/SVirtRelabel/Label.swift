import Glibc
import SVirtSystem

/// A file label as the bytes written to `security.selinux`.
///
/// libselinux (chcon, lsetfilecon) stores the context with a trailing NUL,
/// go-selinux without one, and a kernel with SELinux on returns it with one.
/// Comparing without the NUL is what makes "skip if unchanged" work on trees
/// labeled by any of them. We write the NUL, as the kernel and libselinux do.
public struct FileLabel: Sendable, Equatable {
    /// The context without a terminating NUL.
    public let context: [UInt8]
    /// What we write: the context and one NUL.
    let stored: [UInt8]

    public init(_ context: String) {
        var bytes = Array(context.utf8)
        while bytes.last == 0 { bytes.removeLast() }
        self.context = bytes
        self.stored = bytes + [0]
    }

    /// Whether an xattr value read back from a file is this label.
    public func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        var count = value.count
        if count > 0 && value[count - 1] == 0 { count -= 1 }
        guard count == context.count else { return false }
        return context.withUnsafeBytes { mine in
            count == 0 || memcmp(mine.baseAddress!, value.baseAddress!, count) == 0
        }
    }

    public func matches(_ value: [UInt8]) -> Bool {
        value.withUnsafeBytes { matches($0) }
    }
}
