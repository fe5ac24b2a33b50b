import Glibc
import CLinux

extension FileDescriptor {
    /// open(2)'s flags. Read-only is the empty set. O_CLOEXEC is not among
    /// them: every open adds it, since nothing we open may leak into the
    /// runtime we may exec.
    public struct OpenOptions: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let readOnly: OpenOptions = []
        public static let writeOnly = OpenOptions(rawValue: O_WRONLY)
        public static let readWrite = OpenOptions(rawValue: O_RDWR)
        public static let create = OpenOptions(rawValue: O_CREAT)
        public static let exclusive = OpenOptions(rawValue: O_EXCL)
        public static let truncate = OpenOptions(rawValue: O_TRUNC)
        public static let append = OpenOptions(rawValue: O_APPEND)
        public static let noFollow = OpenOptions(rawValue: O_NOFOLLOW)
        public static let directory = OpenOptions(rawValue: O_DIRECTORY)
        public static let nonBlocking = OpenOptions(rawValue: O_NONBLOCK)
        /// O_PATH: a descriptor that pins an inode without opening it for
        /// I/O (<fcntl.h> hides the name without _GNU_SOURCE).
        public static let pathOnly = OpenOptions(rawValue: 0o10000000)
    }

    /// openat2(2)'s `resolve` field, from the kernel header through CLinux.
    public struct ResolveOptions: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        /// No mount point crossed (EXDEV).
        public static let noCrossingMounts = ResolveOptions(rawValue: svirt_resolve_no_xdev)
        /// No /proc magic link followed (ELOOP).
        public static let noMagicLinks = ResolveOptions(rawValue: svirt_resolve_no_magiclinks)
        /// No symlink followed, at any component (ELOOP).
        public static let noSymlinks = ResolveOptions(rawValue: svirt_resolve_no_symlinks)
    }

    /// renameat2(2)'s flags.
    public struct RenameOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// EEXIST rather than replace the target.
        public static let noReplace = RenameOptions(rawValue: UInt32(RENAME_NOREPLACE))
        /// Swap the two names atomically.
        public static let exchange = RenameOptions(rawValue: UInt32(RENAME_EXCHANGE))
    }
}

/// The AT_* flags of the *at() calls (<fcntl.h> hides most of them without
/// _GNU_SOURCE, so they are given by value).
public struct AtOptions: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// A final symlink is the entry itself, not what it names.
    public static let noFollow = AtOptions(rawValue: AT_SYMLINK_NOFOLLOW)
    /// An empty name means the descriptor itself.
    public static let emptyPath = AtOptions(rawValue: 0x1000)
    /// An automount point is not triggered.
    public static let noAutomount = AtOptions(rawValue: 0x800)
    /// statx: cached attributes, no round trip to a network server.
    public static let statxDontSync = AtOptions(rawValue: 0x4000)
}
