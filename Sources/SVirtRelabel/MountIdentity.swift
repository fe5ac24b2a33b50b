import SVirtSystem

/// Whether an entry of the tree is a mount point, decided from the most
/// exact signal available, and failing closed when none is.
enum MountIdentity {
    static let unknownReason = "cannot tell whether it is a mount point (no mount ID from statx or /proc/self/fdinfo)"

    enum Verdict: Equatable {
        case sameMount
        case mountPoint
        /// No signal tells: the caller must not label or enter the entry.
        case unknown
    }

    /// The tree's own mount: every directory the walk holds is on it (the
    /// walk never enters another), so each entry is compared with it.
    struct Root: Sendable {
        let device: Device
        let mountID: UInt64?
    }

    /// `entry` was statted without following it. Order: statx's mount ID
    /// (exact), the mount root attribute (exact), `fallbackMountID` (fdinfo
    /// of an fd opened on the entry: exact, but costs an open), then a
    /// device other than the tree's (a mount point, or a btrfs subvolume:
    /// not crossing it is the safe side), else unknown. The device comes
    /// last because overlayfs reports a lower layer's device for files,
    /// and because equal devices prove nothing: a bind mount of a directory
    /// of the same file system has the same device.
    static func judge(_ entry: StatX, root: Root, fallbackMountID: () -> UInt64?) -> Verdict {
        if let id = entry.knownMountID, let rootID = root.mountID {
            return id == rootID ? .sameMount : .mountPoint
        }
        if let isRoot = entry.isMountRoot { return isRoot ? .mountPoint : .sameMount }
        if let rootID = root.mountID, let id = fallbackMountID() {
            return id == rootID ? .sameMount : .mountPoint
        }
        if entry.device != root.device { return .mountPoint }
        return .unknown
    }
}
