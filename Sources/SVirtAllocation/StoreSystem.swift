#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SVirtSystem

/// The few calls the store needs that Swift's Glibc module does not import
/// (`renameat2`, `getrandom` are behind `_GNU_SOURCE`/newer headers), looked
/// up once per call site through dlsym and called with their C signatures.
/// Both are in glibc since 2.28; the kernel features since 3.15/3.17.
enum StoreSystem {
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
    private typealias GetRandom = @convention(c) (UnsafeMutableRawPointer?, Int, UInt32) -> Int

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    /// rename(2) that fails with EEXIST instead of replacing the target:
    /// a plain rename would silently replace an empty directory, which is
    /// exactly what a half-released level looks like.
    static func renameNoReplace(_ from: String, _ to: String) throws(SystemError) {
        guard let call = symbol("renameat2", as: RenameAt2.self) else {
            throw SystemError("renameat2", path: to, errno: .notSupported)
        }
        try syscall("renameat2", path: to) { call(AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */) }
    }

    /// `count` bytes from getrandom(2) (blocking only before the pool is
    /// seeded, which never matters after boot).
    static func randomBytes(_ count: Int) throws(SystemError) -> [UInt8] {
        guard let call = symbol("getrandom", as: GetRandom.self) else {
            throw SystemError("getrandom", errno: .notSupported)
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { raw in call(raw.baseAddress! + filled, count - filled, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("getrandom")
            }
            filled += n
        }
        return bytes
    }

    /// Reads a small file whole through `fd`, in 4 KiB steps. (SVirtSystem's
    /// `readAll` starts with a 64 KiB zero-filled chunk and doubles it, which
    /// costs more than the whole reservation for a 100-byte record.)
    static func readSmall(_ fd: FileDescriptor, path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { throw SystemError("read", path: path, errno: Errno(rawValue: EFBIG)) }
        }
    }

    static func readSmall(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW)
        defer { fd.close() }
        return try readSmall(fd, path: path)
    }

    /// Names in a directory, without `.` and `..`.
    static func entries(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("readdir", path: path) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// mkdir that treats an existing directory as success.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if mkdir(path, mode) == 0 { return }
        let err = Errno.current
        var st = stat()
        if err == .exists && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
        throw SystemError("mkdir", path: path, errno: err == .exists ? .notDirectory : err)
    }

    static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        defer { fd.close() }
        do { try fd.sync() } catch { throw SystemError("fsync", path: path, errno: error.errno) }
    }

    /// Whether process `pid` exists (EPERM means it does, owned by another user).
    static func processExists(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

/// A random source that reads getrandom(2) in blocks.
struct RandomWords {
    private var buffer: [UInt8] = []
    private var offset = 0

    mutating func next() throws(SystemError) -> UInt32 {
        if offset + 4 > buffer.count {
            buffer = try StoreSystem.randomBytes(256)
            offset = 0
        }
        defer { offset += 4 }
        return UInt32(buffer[offset]) | UInt32(buffer[offset + 1]) << 8
            | UInt32(buffer[offset + 2]) << 16 | UInt32(buffer[offset + 3]) << 24
    }

    mutating func hex(bytes count: Int) throws(SystemError) -> String {
        var text = ""
        for _ in 0..<(count + 3) / 4 {
            let word = try next()
            let digits = String(word, radix: 16)
            text += String(repeating: "0", count: 8 - digits.count) + digits
        }
        return String(text.prefix(count * 2))
    }
}
