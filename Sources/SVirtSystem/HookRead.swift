#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Reading for the hook's hot path (owned by the hook helper). The hook runs
// on every container start and most of its time is the kernel's: each page
// touched is a fault. `readAll` zero-fills 64 KiB then 128 KiB chunks to
// read a 10 KiB config; this reads into uninitialized storage sized from
// fstat, so a small input touches only the pages it fills.
extension FileDescriptor {
    /// Reads to end of file into storage sized from fstat(2) for regular
    /// files (16 KiB otherwise), doubling as needed. Fails with EFBIG past
    /// `limit` bytes.
    public func readToEnd(limit: Int) throws(SystemError) -> [UInt8] {
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
                    let n = Glibc.read(rawValue, buffer.baseAddress! + count, capacity - count)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = SystemError("read")
                        return
                    }
                    if n == 0 { eof = true; return }
                    count += n
                }
            }
            if let failure { throw failure }
            bytes = grown
            if bytes.count > limit { throw SystemError("read", errno: Errno(rawValue: EFBIG)) }
            if eof { return bytes }
            capacity = min(capacity * 2, limit + 1)
            if capacity <= bytes.count { throw SystemError("read", errno: Errno(rawValue: EFBIG)) }
        }
    }
}

extension Files {
    /// Like `read(_:limit:)`, through `readToEnd`.
    public static func readCompact(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { fd.close() }
        do {
            return try fd.readToEnd(limit: limit)
        } catch {
            throw SystemError(error.call, path: path, errno: error.errno)
        }
    }
}
