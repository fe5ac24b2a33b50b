import SVirtSystem
/// The one place that decides what a relabel may skip reading
/// (docs/relabel.md, "What a stamp vouches for"): first whether the tree's
/// stamp is trusted at all, then, per directory, whether its entries and
/// what lies below it are read.
struct Trust: Sendable {
    /// From a trusted stamp: a directory whose ctime is older has not
    /// changed since. nil: nothing is trusted, every entry is read.
    let since: TreeStamp.Timestamp?
    /// Whether the root already carries the label (a tree labeled before:
    /// see WritePolicy, which reads first then).
    let rootLabeled: Bool
    /// The root's stamp as read (nil: none), to be removed before a write
    /// (Walk.beforeWrite) and renewed only if still there (Relabeler).
    let stamp: [UInt8]?

    /// Nothing trusted: every entry is read.
    static let none = Trust(since: nil, rootLabeled: false, stamp: nil)

    private init(since: TreeStamp.Timestamp?, rootLabeled: Bool, stamp: [UInt8]?) {
        self.since = since
        self.rootLabeled = rootLabeled
        self.stamp = stamp
    }

    /// A stamp is trusted only when stamps are kept here (`keepsStamps`:
    /// local times, the tree lock held), no full read was asked for, the
    /// root carries the label, and the stamp names it and is not from the
    /// future.
    init(rootLabeled: Bool, stamp: [UInt8]?, label: FileLabel, now: TreeStamp.Timestamp,
         keepsStamps: Bool, full: Bool) {
        self.rootLabeled = rootLabeled
        self.stamp = stamp
        if keepsStamps && !full && rootLabeled, let bytes = stamp, let decoded = TreeStamp.decode(bytes),
           decoded.trusted(for: label, now: now) {
            since = decoded.since
        } else {
            since = nil
        }
    }

    /// What is read in one directory.
    struct Directory: Sendable, Equatable {
        /// The labels of its non-directory entries (subdirectories are
        /// always opened and their own labels read).
        let labelsEntries: Bool
        /// Everything below it, whatever the ctimes say.
        let verifiesSubtree: Bool

        static let everything = Directory(labelsEntries: true, verifiesSubtree: true)
    }

    /// The root's entries are always read: writing its stamp set its ctime
    /// after the stamp's time.
    var root: Directory {
        Directory(labelsEntries: true, verifiesSubtree: since == nil)
    }

    /// A subdirectory of `parent`. Nothing below is trusted under one whose
    /// label was wrong (`relabeled`: by someone else, or never by us), nor
    /// under one that changed in a directory whose entries changed: it may
    /// have been moved in, contents and all. `ctime` is asked only when it
    /// decides (nil: unknown, so changed).
    func subdirectory(of parent: Directory, relabeled: Bool,
                      ctime: () -> TreeStamp.Timestamp?) -> Directory {
        if parent.verifiesSubtree || relabeled { return .everything }
        let changed = changed(ctime: ctime())
        return Directory(labelsEntries: changed, verifiesSubtree: parent.labelsEntries && changed)
    }

    /// Whether a directory with this ctime may have changed since the
    /// stamp (see TreeStamp.changed: ctime, because nothing sets it back).
    func changed(ctime: TreeStamp.Timestamp?) -> Bool {
        guard let since, let ctime else { return true }
        return TreeStamp.changed(ctime: ctime, since: since)
    }
}
