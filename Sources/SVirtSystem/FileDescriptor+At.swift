import Glibc
import CLinux

/// The calls relative to a directory descriptor: what a walk that never
/// follows a path it does not hold needs. Each retries EINTR and throws
/// the call's Errno; names are one C string, never re-encoded per call.
extension FileDescriptor {
    /// openat(2) of `name` in this directory.
    public func open(_ name: UnsafePointer<CChar>, _ options: OpenOptions,
                     mode: mode_t = 0o600) throws(Errno) -> FileDescriptor {
        let fd = try retryingInterrupts { openat(rawValue, name, options.rawValue | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    public func open(_ name: String, _ options: OpenOptions, mode: mode_t = 0o600) throws(Errno) -> FileDescriptor {
        var failure: Errno?
        let fd = name.withCString { name -> FileDescriptor? in
            do throws(Errno) { return try open(name, options, mode: mode) } catch { failure = error; return nil }
        }
        if let fd { return fd }
        throw failure!
    }

    /// openat2(2) (Linux 5.6+; ENOSYS before, or EPERM under a seccomp
    /// filter that does not know it).
    public func open(_ name: UnsafePointer<CChar>, _ options: OpenOptions,
                     resolve: ResolveOptions) throws(Errno) -> FileDescriptor {
        let fd = try retryingInterrupts {
            svirt_openat2(rawValue, name, UInt64(UInt32(bitPattern: options.rawValue | O_CLOEXEC)), resolve.rawValue)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// statx(2) of `name` in this directory (ENOSYS before 4.11).
    public func statx(_ name: UnsafePointer<CChar>, _ options: AtOptions, fields: StatX.Fields) throws(Errno) -> StatX {
        var raw = svirt_statx()
        try retryingInterrupts { svirt_statx(rawValue, name, options.rawValue, fields.rawValue, &raw) }
        return StatX(raw)
    }

    /// statx(2) of the file open here.
    public func statx(fields: StatX.Fields) throws(Errno) -> StatX {
        try statx("", .emptyPath, fields: fields)
    }

    /// fstatat(2) of `name` in this directory, as far as StatX holds it.
    public func oldStatus(_ name: UnsafePointer<CChar>, _ options: AtOptions) throws(Errno) -> StatX {
        var st = stat()
        try retryingInterrupts { fstatat(rawValue, name, &st, options.rawValue) }
        return StatX(st)
    }

    /// getdents64(2) into `buffer`: the bytes of whole `linux_dirent64`
    /// records read, 0 at the end.
    public func readDirectoryEntries(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingInterrupts {
            RawSyscall.call(SyscallNumber.getdents64, Int(rawValue), Int(bitPattern: buffer.baseAddress), buffer.count)
        }
    }

    /// fstatfs(2)'s f_type.
    public func fileSystemType() throws(Errno) -> Int {
        try retryingInterrupts { svirt_fd_fs_type(rawValue) }
    }

    /// The file system's used inodes; nil on error or when it keeps no
    /// inode count (struct statfs is read in C, so its layout is the
    /// header's).
    public func usedInodes() -> Int? {
        let used = svirt_fd_used_inodes(rawValue)
        return used < 0 ? nil : Int(used)
    }

    /// mkdirat(2) in this directory.
    public func makeDirectory(_ name: String, mode: mode_t = 0o700) throws(Errno) {
        try retryingInterrupts { mkdirat(rawValue, name, mode) }
    }

    /// unlinkat(2) of a file in this directory.
    public func removeFile(_ name: String) throws(Errno) {
        try retryingInterrupts { unlinkat(rawValue, name, 0) }
    }

    /// renameat2(2) within this directory.
    public func rename(_ from: UnsafePointer<CChar>, to: UnsafePointer<CChar>,
                       options: RenameOptions = []) throws(Errno) {
        try retryingInterrupts { svirt_renameat2(rawValue, from, rawValue, to, options.rawValue) }
    }

    /// pread(2): up to `buffer.count` bytes at `offset`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, atOffset offset: Int) throws(Errno) -> Int {
        try retryingInterrupts { pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// pwrite(2) of `bytes` at `offset`, in one call (a short write is
    /// returned, not continued: callers that need it whole say so).
    public func write(_ bytes: [UInt8], atOffset offset: Int) throws(Errno) -> Int {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(Errno) -> Int in
                try retryingInterrupts { pwrite(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
            }
        }.get()
    }

    /// The target of the symlink `name` in this directory (for
    /// "/proc/self/fd/N" from the current directory: the path the kernel
    /// holds for that descriptor).
    public func readLink(_ name: String) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(Errno) -> Int in
                try retryingInterrupts {
                    readlinkat(rawValue, name, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count - 1)
                }
            }
        }.get()
        return Array(buffer[0..<n])
    }
}

/// glibc's variadic `syscall(3)` cannot be called from Swift; CLinux's
/// fixed six-argument wrapper calls it, resolved at link time so that it
/// works in a static binary too. -1 with errno set on failure.
enum RawSyscall {
    @inline(__always)
    static func call(_ number: Int, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0,
                     _ d: Int = 0, _ e: Int = 0, _ f: Int = 0) -> Int {
        svirt_syscall6(number, a, b, c, d, e, f)
    }
}

/// System call numbers, from the C headers of the architecture built for
/// (CLinux's shim supplies those newer than the headers).
enum SyscallNumber {
    static let setxattr = svirt_sys_setxattr, lsetxattr = svirt_sys_lsetxattr, fsetxattr = svirt_sys_fsetxattr
    static let getxattr = svirt_sys_getxattr, lgetxattr = svirt_sys_lgetxattr, fgetxattr = svirt_sys_fgetxattr
    static let lremovexattr = svirt_sys_lremovexattr, fremovexattr = svirt_sys_fremovexattr
    static let getdents64 = svirt_sys_getdents64
    static let setxattrat = svirt_sys_setxattrat
    static let getxattrat = svirt_sys_getxattrat
}
