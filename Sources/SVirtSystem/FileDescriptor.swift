#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open file descriptor. Not closed implicitly: callers pair `open` with
/// `defer { fd.close() }`, which keeps ownership visible at the call site.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)
    /// The current directory, for *at() calls on relative paths.
    public static let currentDirectory = FileDescriptor(rawValue: AT_FDCWD)

    /// openat(2). `O_CLOEXEC` is always added: nothing we open should leak
    /// into the runtime we may exec.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o644,
        relativeTo dir: FileDescriptor = .currentDirectory
    ) throws(SystemError) -> FileDescriptor {
        let fd = try syscall("open", path: path) { openat(dir.rawValue, path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    public func close() {
        // close(2) must not be retried on EINTR on Linux: the fd is gone either way.
        _ = Glibc.close(rawValue)
    }

    /// Reads up to `count` bytes into `buffer`; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try syscall("read") { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Reads to end of file. Fails with EFBIG past `limit` bytes so that a
    /// runaway input cannot exhaust memory.
    public func readAll(limit: Int) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var failure: SystemError?
        // One scratch buffer, copied out with memcpy: no per-read zero-filling.
        withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 16) { scratch in
            while true {
                let n: Int
                do throws(SystemError) {
                    n = try read(into: scratch)
                } catch {
                    failure = error
                    return
                }
                if n == 0 { return }
                if bytes.count + n > limit {
                    failure = SystemError("read", errno: Errno(rawValue: EFBIG))
                    return
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Writes every byte, continuing after short writes.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { buffer in
            do throws(SystemError) { try writeAll(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < buffer.count {
            let n = try syscall("write") {
                Glibc.write(rawValue, buffer.baseAddress! + offset, buffer.count - offset)
            }
            offset += n
        }
    }

    public func sync() throws(SystemError) {
        try syscall("fsync") { fsync(rawValue) }
    }

    public func status() throws(SystemError) -> stat {
        var st = stat()
        try syscall("fstat") { fstat(rawValue, &st) }
        return st
    }
}
