import SVirtSystem
/// What a finished relabel leaves on its tree's root: the label it gave
/// the tree, and a time before the walk started. The next relabel to the
/// same label (root carrying it, stamp not from the future, a local file
/// system, the tree's TreeLock held) trusts the files of every directory
/// whose ctime is older than that time: it still reads and compares the
/// label of every directory, but not of the files in an unchanged one.
///
/// What a stamp vouches for: that no directory with an older ctime has
/// changed its entries or itself since the walk began, and that the walk
/// left every entry of the tree with the label. It vouches from the walk's
/// start, never from its end or its last write: whatever changed during
/// the walk, even in a directory it had already read, has a ctime after
/// the stamp's time and is read next time.
///
/// Why ctime: creating, removing, renaming or hard-linking an entry sets
/// its directory's ctime, and so does any change to the directory itself
/// (mode, owner, xattrs, being moved) or to its times. mtime is not enough:
/// cp -a, rsync -a and tar x set a directory's mtime back after filling it,
/// but nothing can set a ctime back. The price: our own writes of a
/// directory's label set its ctime too, so the first repeat after a walk
/// that wrote labels reads those directories in full (and renews the stamp
/// when it writes nothing); the repeats after that read directories only.
///
/// What it sees, then:
/// - An entry added, removed, renamed or linked, by any tool, with any
///   times it restores afterwards: its directory is read in full.
/// - A directory moved in (new ctime under a directory that changed), or
///   whose own label is wrong: read in full, everything below included.
/// - Our own writes never fall under a stamp: before a label is written
///   in a directory, the stamps of that directory, of every directory up
///   to the walk's root and of the directories above the root on its file
///   system, through every mount of it here, are removed (Walk.beforeWrite;
///   a file volume's relabel too), and one that stays stops the write. A
///   walk that fails or is killed half-way so leaves none where it wrote,
///   and the next relabel there reads everything. Writers of nested trees
///   take turns and read under their write locks; a read-only repeat
///   renews its stamp only if nobody removed it meanwhile (TreeLock,
///   Stamps.renew).
///
/// What it does not see (the man page's CAVEATS are the list users read):
/// a label changed by another tool on an existing file of a directory that
/// did not change (chcon without -R, setfattr); a relabel of another tree
/// holding hard links to files of this one; a relabel reaching the tree
/// through a mount this process does not see, or racing one that could not
/// take its locks; a clock set back. Each can only take access away from
/// the container, never give it more than the relabel would.
/// `--full-relabel`, or removing the stamp, reads everything.
///
/// Stored as `trusted.svirt.relabel` (only CAP_SYS_ADMIN may set trusted.*,
/// so a container cannot forge one): "1 SECONDS.NANOSECONDS LABEL". A file
/// system without trusted.* xattrs gets no stamp and a full read every
/// time.
public struct TreeStamp: Sendable, Equatable {
    public static let attribute = XattrName("trusted.svirt.relabel")
    public static var xattrName: String { attribute.description }
    /// Taken off the walk's start time: file system timestamps come from a
    /// coarse clock (up to a tick behind) and may be truncated to whole
    /// seconds, and what changed around the start is cheap to read once more.
    public static let slackSeconds: Int64 = 2

    public let label: [UInt8]
    public let since: Timestamp

    /// A file time (SVirtSystem), as stamps compare them.
    public typealias Timestamp = FileTime

    public init(label: FileLabel, since: Timestamp) {
        self.label = label.context
        self.since = since
    }

    /// Whether a directory with this ctime may have changed since `since`.
    /// The slack in `since` (forWalk) is what makes this hold with coarse
    /// timestamps: a change at or after the walk's start gets a ctime no
    /// earlier than the start truncated to the file system's granularity
    /// (1 s at the coarsest: ext2/3, ext4 with 128-byte inodes) less a
    /// clock tick, which is still later than the start less 2 s.
    public static func changed(ctime: Timestamp, since: Timestamp) -> Bool {
        ctime >= since
    }

    /// The stamp for a walk that starts at `start`.
    public static func forWalk(startingAt start: Timestamp, label: FileLabel,
                               slack: Int64 = slackSeconds) -> TreeStamp {
        TreeStamp(label: label, since: Timestamp(seconds: start.seconds - slack, nanoseconds: start.nanoseconds))
    }

    public var encoded: [UInt8] {
        var nanos = Array(String(since.nanoseconds).utf8)
        nanos.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: 9 - nanos.count), at: 0)
        return Array("1 \(since.seconds).".utf8) + nanos + [UInt8(ascii: " ")] + label
    }

    /// nil for anything this version did not write: such a stamp is
    /// ignored (a full read), never trusted.
    public static func decode(_ bytes: some Collection<UInt8>) -> TreeStamp? {
        let fields = bytes.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0].elementsEqual("1".utf8), !fields[2].isEmpty,
              !fields[2].contains(0), !fields[2].contains(UInt8(ascii: " ")) else { return nil }
        let time = fields[1].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard time.count == 2, time[1].count == 9,
              let seconds = decimal(time[0]), seconds <= Int64.max / 2,
              let nanos = decimal(time[1]) else { return nil }
        return TreeStamp(label: Array(fields[2]), since: Timestamp(seconds: seconds, nanoseconds: UInt32(nanos)))
    }

    private init(label: [UInt8], since: Timestamp) {
        self.label = label
        self.since = since
    }

    private static func decimal(_ digits: some Collection<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(d - UInt8(ascii: "0"))
        }
        return value
    }

    /// Whether a relabel to `label` at `now` may trust this stamp: same
    /// label, and not from the future (a clock set back since would make
    /// later changes look older than the stamp).
    public func trusted(for label: FileLabel, now: Timestamp) -> Bool {
        self.label == label.context && since <= now
    }
}
