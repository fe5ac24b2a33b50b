import Glibc

/// The calls whose absence on an older kernel (or under a seccomp filter)
/// changes how a walk must work, each with its fallback, and a way for
/// tests to pretend one is missing: on this kernel the fallbacks could not
/// otherwise be exercised.
public struct KernelCalls: Sendable {
    public struct Missing: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// openat2 fails with ENOSYS (before 5.6).
        public static let openat2 = Missing(rawValue: 1)
        /// statx fails with ENOSYS (before 4.11, or filtered).
        public static let statx = Missing(rawValue: 2)
        /// statx answers without STATX_MNT_ID / STATX_ATTR_MOUNT_ROOT (before 5.8).
        public static let statxMountID = Missing(rawValue: 4)
        /// /proc/self/fdinfo has no mnt_id (before 3.15, or no /proc).
        public static let fdinfo = Missing(rawValue: 8)
        /// getxattrat/setxattrat fail with ENOSYS (before 6.13).
        public static let xattrAtCalls = Missing(rawValue: 16)
    }

    public var missing: Missing

    public init(missing: Missing = []) { self.missing = missing }

    /// openat2 in `dir`; ENOSYS when pretended missing.
    @inline(__always)
    public func open(_ name: UnsafePointer<CChar>, in dir: FileDescriptor, _ options: FileDescriptor.OpenOptions,
                     resolve: FileDescriptor.ResolveOptions) throws(Errno) -> FileDescriptor {
        if missing.contains(.openat2) { throw .noSystemCall }
        return try dir.open(name, options, resolve: resolve)
    }

    /// statx, falling back to fstatat when statx is unavailable (then the
    /// fields lack the mount ID and whether it is a mount root is
    /// unknown). The device and type are always there.
    @inline(__always)
    public func status(_ name: UnsafePointer<CChar>, in dir: FileDescriptor, _ options: AtOptions,
                       fields: StatX.Fields) throws(Errno) -> StatX {
        if !missing.contains(.statx) {
            do {
                var st = try dir.statx(name, options, fields: fields)
                if missing.contains(.statxMountID) {
                    st.fields.remove(.mountID)
                    st.mountID = 0
                    st.knownAttributes.remove(.mountRoot)
                }
                return st
            } catch where !error.meansCallMissing {
                throw error
            } catch {}
        }
        return try dir.oldStatus(name, options.intersection([.noFollow, .emptyPath, .noAutomount]))
    }

    /// The same for the file open at `fd`.
    public func status(of fd: FileDescriptor, fields: StatX.Fields) throws(Errno) -> StatX {
        try status("", in: fd, .emptyPath, fields: fields)
    }

    /// The mount ID of the mount holding `fd`: statx's when it has one
    /// (5.8+), else /proc/self/fdinfo's mnt_id (3.15+); nil when neither.
    public func mountID(of fd: FileDescriptor) -> UInt64? {
        if let id = (try? status(of: fd, fields: .mountID))?.knownMountID { return id }
        return fdinfoMountID(fd)
    }

    /// The mount ID of what `name` in `dir` is, without following a
    /// symlink: an O_PATH open (which, like any lookup, lands on whatever
    /// is mounted there) and its fdinfo.
    public func mountID(of name: UnsafePointer<CChar>, in dir: FileDescriptor) -> UInt64? {
        guard let fd = try? dir.open(name, [.pathOnly, .noFollow]) else { return nil }
        defer { fd.close() }
        return fdinfoMountID(fd)
    }

    public func fdinfoMountID(_ fd: FileDescriptor) -> UInt64? {
        missing.contains(.fdinfo) ? nil : FileDescriptorInfo.mountID(fd)
    }
}

/// /proc/self/fdinfo/FD: what the kernel tells about an open descriptor.
public enum FileDescriptorInfo {
    /// Its "mnt_id:" line.
    public static func mountID(_ fd: FileDescriptor) -> UInt64? {
        guard let text = try? Files.read("/proc/self/fdinfo/\(fd.rawValue)", limit: 1 << 16) else { return nil }
        return parseMountID(text)
    }

    public static func parseMountID(_ text: [UInt8]) -> UInt64? {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let s = String(decoding: line, as: UTF8.self)
            guard s.hasPrefix("mnt_id:") else { continue }
            return UInt64(s.dropFirst("mnt_id:".count).trimmingBlanks)
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingBlanks: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
