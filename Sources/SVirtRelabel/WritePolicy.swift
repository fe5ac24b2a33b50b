import SVirtSystem
/// Whether to read an entry's label before writing it, decided per
/// directory from what the previous entries showed.
///
/// Reading first makes a repeat cost one read per entry and never writes an
/// equal label (no overlayfs copy-up, no ctime change, no relabel permission
/// needed for files already right). On a first pass it doubles the system
/// calls: every read finds a different label and is followed by a write.
/// So where a redundant write is harmless (ext4, xfs, btrfs, tmpfs: one
/// metadata update, nothing copied) and the tree's root does not carry the
/// label yet (not finished before), a directory whose first `switchAfter`
/// entries all needed writing is taken as unlabeled: the rest are written
/// without reading, except one in `sampleEvery`, and a sampled entry that
/// already has the label switches back to reading first. The final labels
/// are the same either way; only the number of system calls differs. A
/// directory whose own label had to be written starts blind (`startBlind`):
/// its entries are most likely unlabeled too. Its first entry is a sample,
/// so a directory relabeled alone (its entries right) switches back to
/// reading at once.
public struct WritePolicy: Sendable, Equatable {
    public static let switchAfter = 4
    public static let sampleEvery = 64

    /// False: read before every write (overlayfs, unknown file systems,
    /// a tree whose root already has the label).
    public let mayWriteBlind: Bool
    public private(set) var blind = false
    private var differingRun = 0
    private var sinceSample = 0

    public init(mayWriteBlind: Bool, startBlind: Bool = false) {
        self.mayWriteBlind = mayWriteBlind
        self.blind = mayWriteBlind && startBlind
        if blind { sinceSample = WritePolicy.sampleEvery - 1 }
    }

    /// Whether the next entry's label should be read first.
    public mutating func shouldRead() -> Bool {
        guard blind else { return true }
        sinceSample += 1
        if sinceSample >= WritePolicy.sampleEvery {
            sinceSample = 0
            return true
        }
        return false
    }

    /// What a read showed: the entry already had the label, or not.
    public mutating func observed(matching: Bool) {
        if matching {
            differingRun = 0
            blind = false
        } else {
            differingRun += 1
            if mayWriteBlind && differingRun >= WritePolicy.switchAfter { blind = true }
        }
    }

    /// File systems (statfs f_type) on which rewriting an equal label costs
    /// one metadata update and nothing else.
    public static func cheapRewrite(fileSystemType: Int) -> Bool {
        switch UInt32(truncatingIfNeeded: fileSystemType) {
        case 0xEF53,      // ext2/3/4
             0x5846_5342, // xfs
             0x9123_683E, // btrfs
             0x0102_1994: // tmpfs
            return true
        default:
            return false // overlayfs copies up, NFS/FUSE go over the wire: read first
        }
    }
}
