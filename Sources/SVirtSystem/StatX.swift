import Glibc
import CLinux

/// The time of a file's change or modification, to the nanosecond, as
/// statx gives it.
public struct FileTime: Sendable, Equatable, Comparable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (a: FileTime, b: FileTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

/// The fields of `struct statx` we read (copied out of the kernel header's
/// struct by CLinux), or of `struct stat` where statx is missing.
public struct StatX: Sendable {
    /// statx's request and answer mask: which fields are filled.
    public struct Fields: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let type = Fields(rawValue: svirt_statx_type)
        public static let modificationTime = Fields(rawValue: svirt_statx_mtime)
        public static let changeTime = Fields(rawValue: svirt_statx_ctime)
        public static let inode = Fields(rawValue: svirt_statx_ino)
        /// Linux 5.8+.
        public static let mountID = Fields(rawValue: svirt_statx_mnt_id)
    }

    /// statx's attributes (and attributes_mask: which of them the file
    /// system can tell).
    public struct Attributes: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        /// The file is the root of a mount (Linux 5.8+).
        public static let mountRoot = Attributes(rawValue: svirt_statx_attr_mount_root)
    }

    public init() {}
    public var fields: Fields = []
    public var attributes: Attributes = []
    public var knownAttributes: Attributes = []
    public var mode: UInt16 = 0
    public var inode: UInt64 = 0
    public var device = Device(major: 0, minor: 0)
    public var mountID: UInt64 = 0
    public var modificationTime = FileTime(seconds: 0, nanoseconds: 0)
    public var changeTime = FileTime(seconds: 0, nanoseconds: 0)

    public var fileType: UInt16 { mode & UInt16(S_IFMT) }
    public var isDirectory: Bool { fileType == UInt16(S_IFDIR) }

    /// The mount ID when statx gave one.
    public var knownMountID: UInt64? { fields.contains(.mountID) ? mountID : nil }

    /// nil when the kernel cannot tell (older than 5.8).
    public var isMountRoot: Bool? {
        knownAttributes.contains(.mountRoot) ? attributes.contains(.mountRoot) : nil
    }

    init(_ raw: svirt_statx) {
        fields = Fields(rawValue: raw.mask)
        attributes = Attributes(rawValue: raw.attributes)
        knownAttributes = Attributes(rawValue: raw.attributes_mask)
        mode = raw.mode
        inode = raw.ino
        device = Device(major: raw.dev_major, minor: raw.dev_minor)
        mountID = raw.mnt_id
        changeTime = FileTime(seconds: raw.ctime_sec, nanoseconds: raw.ctime_nsec)
        modificationTime = FileTime(seconds: raw.mtime_sec, nanoseconds: raw.mtime_nsec)
    }

    /// What fstatat(2) tells: type, inode and device; no mount ID, and
    /// nothing about being a mount root.
    init(_ old: stat) {
        fields = [.type, .inode]
        mode = UInt16(truncatingIfNeeded: old.st_mode)
        inode = UInt64(old.st_ino)
        device = Device(old.st_dev)
    }
}

/// A device number, split as statx splits it.
public struct Device: Sendable, Equatable, Hashable {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// glibc's dev_t encoding (its gnu_dev_major/minor are macros Swift
    /// does not import).
    public init(_ dev: dev_t) {
        major = UInt32(truncatingIfNeeded: ((UInt64(dev) >> 8) & 0xfff) | ((UInt64(dev) >> 32) & ~0xfff))
        minor = UInt32(truncatingIfNeeded: (UInt64(dev) & 0xff) | ((UInt64(dev) >> 12) & ~0xff))
    }
}
