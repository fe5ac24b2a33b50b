import Glibc

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
        _ path: String, _ options: OpenOptions, mode: mode_t = 0o644,
        relativeTo dir: FileDescriptor = .currentDirectory
    ) throws(SystemError) -> FileDescriptor {
        do {
            return try dir.open(path, options, mode: mode)
        } catch {
            throw SystemError("open", path: path, errno: error)
        }
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
    /// runaway input cannot exhaust memory. Storage is sized from fstat(2)
    /// for regular files (16 KiB otherwise, doubling as needed) and left
    /// uninitialized until read into: the hook runs on every container
    /// start, and zero-filling large chunks for a 10 KiB config costs page
    /// faults, which are most of its time.
    public func readAll(limit: Int) throws(SystemError) -> [UInt8] {
        var st = stat()
        var capacity = 16 * 1024
        if fstat(rawValue, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            // +1 so end of file is seen without growing.
            capacity = min(Int(st.st_size), limit) + 1
        }
        var bytes: [UInt8] = []
        while true {
            var failure: SystemError?
            var eof = false
            let start = bytes.count
            let grown = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                // Carry over what was read so far.
                if start > 0 {
                    bytes.withUnsafeBufferPointer { old in
                        _ = UnsafeMutableBufferPointer(rebasing: buffer[..<start]).initialize(from: old)
                    }
                }
                count = start
                while count < capacity {
                    let n: Int
                    do throws(Errno) {
                        n = try retryingInterrupts { Glibc.read(rawValue, buffer.baseAddress! + count, capacity - count) }
                    } catch {
                        failure = SystemError("read", errno: error)
                        return
                    }
                    if n == 0 { eof = true; return }
                    count += n
                }
            }
            if let failure { throw failure }
            bytes = grown
            if bytes.count > limit { throw SystemError("read", errno: .tooBig) }
            if eof { return bytes }
            capacity = min(capacity * 2, limit + 1)
            if capacity <= bytes.count { throw SystemError("read", errno: .tooBig) }
        }
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

    /// flock(2) on this file, waiting when `wait`. false when `wait` is
    /// false and another descriptor holds it; EINTR is retried.
    public func lock(shared: Bool = false, wait: Bool) throws(SystemError) -> Bool {
        let operation = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        do {
            try retryingInterrupts { flock(rawValue, operation) }
            return true
        } catch where error == .wouldBlock && !wait {
            return false
        } catch {
            throw SystemError("flock", errno: error)
        }
    }

    /// Whether the file open here is still the one named `name` (relative
    /// to `dir`, not following a final symlink). A lock file replaced or
    /// removed while we waited for its lock is no longer its name's: the
    /// caller locks the current one instead (the lock-then-verify step
    /// both the reservation store and the tree locks rest on).
    public func isStill(named name: String, relativeTo dir: FileDescriptor = .currentDirectory) -> Bool {
        var held = stat(), named = stat()
        return fstat(rawValue, &held) == 0 && fstatat(dir.rawValue, name, &named, AT_SYMLINK_NOFOLLOW) == 0
            && held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }
}
