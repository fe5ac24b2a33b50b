import Glibc
import SVirtSystem
import SVirtPaths

/// The mounts of our mount namespace, from /proc/self/mountinfo, reduced to
/// what decides whether a walk must stat every entry.
///
/// Directories are checked as they are opened (openat2 RESOLVE_NO_XDEV), so
/// a mounted directory is never entered or labeled. A file bind-mounted over
/// a file is invisible to that check: labeling it by name would cross into
/// the other file system. Statting every entry costs a system call each, so
/// the walk does it only when such a mount can be reached: a child mount of
/// the tree's own mount whose mount point is inside the tree, or that is a
/// non-directory anywhere on that mount (a directory holding it could be
/// renamed into the tree mid-walk; the mount point itself cannot be renamed).
/// Creating new mounts needs CAP_SYS_ADMIN over our namespace, which is the
/// host's root, not the container or the volume's owner.
public struct MountEntry: Sendable, Equatable {
    public let id: UInt64
    public let parent: UInt64
    /// The file system's "major:minor" (mountinfo's third field).
    public let device: String
    /// The directory of the file system mounted here ("/" unless a bind mount).
    public let root: FilePath
    public let mountPoint: FilePath
    /// After the " - " separator: the type ("overlay", "ext4") and the
    /// super block options ("rw,lowerdir=...,upperdir=..."); each empty
    /// when it is not UTF-8.
    public let fileSystemType: String
    public let superOptions: String

    public init(id: UInt64, parent: UInt64, device: String = "", root: FilePath = "/", mountPoint: FilePath,
                fileSystemType: String = "", superOptions: String = "") {
        self.id = id
        self.parent = parent
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.fileSystemType = fileSystemType
        self.superOptions = superOptions
    }
}

public enum MountTable {
    /// /proc/self/mountinfo's bytes, nil if unreadable.
    public static func readOwn() -> [UInt8]? {
        try? Files.read("/proc/self/mountinfo", limit: 64 << 20)
    }

    /// Parses mountinfo text; lines it cannot read are skipped.
    public static func parse(_ text: [UInt8]) -> [MountEntry] {
        var entries: [MountEntry] = []
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5)
            guard fields.count >= 5,
                  let id = UInt64(String(decoding: fields[0], as: UTF8.self)),
                  let parent = UInt64(String(decoding: fields[1], as: UTF8.self)) else { continue }
            // Optional fields end at a lone "-"; type, source and super
            // options follow it.
            var type = "", superOptions = ""
            if fields.count == 6 {
                let rest = fields[5].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
                if let dash = rest.firstIndex(where: { $0.elementsEqual("-".utf8) }), dash + 1 < rest.count {
                    // Text only when it is UTF-8: a repaired upperdir would
                    // name another directory (persistentSource).
                    type = String(validating: unescape(Array(rest[dash + 1])), as: UTF8.self) ?? ""
                    if dash + 3 < rest.count {
                        superOptions = String(validating: unescape(Array(rest[dash + 3])), as: UTF8.self) ?? ""
                    }
                }
            }
            entries.append(MountEntry(id: id, parent: parent, device: String(decoding: fields[2], as: UTF8.self),
                                      root: FilePath(bytes: unescape(Array(fields[3]))),
                                      mountPoint: FilePath(bytes: unescape(Array(fields[4]))),
                                      fileSystemType: type, superOptions: superOptions))
        }
        return entries
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    public static func unescape(_ field: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var i = 0
        while i < field.count {
            if field[i] == UInt8(ascii: "\\"), i + 3 < field.count,
               let value = octal(field[(i + 1)...(i + 3)]) {
                out.append(value)
                i += 4
            } else {
                out.append(field[i])
                i += 1
            }
        }
        return out
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(d - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }

    /// Whether a walk of `tree` (resolved, on mount `treeMount`) must check
    /// every non-directory for being a mount point. `isDirectory` answers for
    /// a mount point path (the caller stats it).
    public static func needsEntryChecks(
        tree: FilePath, treeMount: UInt64, mounts: [MountEntry], isDirectory: (FilePath) -> Bool
    ) -> Bool {
        for mount in mounts where mount.parent == treeMount && mount.id != treeMount {
            if mount.mountPoint.isInside(tree) && mount.mountPoint != tree.normalized {
                return true
            }
            if !isDirectory(mount.mountPoint) { return true }
        }
        return false
    }

    /// Every path at which `path` (resolved, on mount `mountID`) is visible
    /// in this namespace: its path inside its file system (the mount's root
    /// joined with the part below the mount point) seen through every mount
    /// of the same file system whose root contains it. `path` itself is
    /// among them. nil when the mount is not in the table or does not
    /// contain `path`. A bind mount of /usr/share/doc at /tmp/x makes
    /// /tmp/x/a visible as /usr/share/doc/a too (through the mount at /).
    public static func views(of path: FilePath, mountID: UInt64, mounts: [MountEntry]) -> [FilePath]? {
        guard let sightings = sightings(of: path, mountID: mountID, mounts: mounts) else { return nil }
        var views: [FilePath] = []
        for (mount, rest) in sightings {
            let view = mount.mountPoint.appending(rest)
            if !views.contains(view) { views.append(view) }
        }
        return views
    }

    /// The directories whose stamps cover `path` (resolved, on mount
    /// `mountID`): above it, up to the mount point, in every view of it
    /// (see views), nearest first within each view, each with the mount
    /// it is seen through (another mount on top may hide it: the caller
    /// checks). nil as for views. Directories above it that no mount in
    /// this namespace shows are not known, and not among them.
    public static func coveringDirectories(of path: FilePath, mountID: UInt64,
                                           mounts: [MountEntry]) -> [(path: FilePath, mountID: UInt64)]? {
        guard let sightings = sightings(of: path, mountID: mountID, mounts: mounts) else { return nil }
        var result: [(path: FilePath, mountID: UInt64)] = []
        for (mount, rest) in sightings where !rest.isEmpty {
            var parts = rest.components
            while !parts.isEmpty {
                parts.removeLast()
                let directory = mount.mountPoint.appending(FilePath(bytes: parts.joined(separator: [UInt8(ascii: "/")])))
                if !result.contains(where: { $0.path == directory }) {
                    result.append((directory, mount.id))
                }
            }
        }
        return result
    }

    /// Each mount of `path`'s file system whose root contains it, with the
    /// part of it below that root; nil when mount `mountID` is not in the
    /// table or does not contain `path`.
    private static func sightings(of path: FilePath, mountID: UInt64,
                                  mounts: [MountEntry]) -> [(mount: MountEntry, rest: FilePath)]? {
        guard let place = place(of: path, mountID: mountID, mounts: mounts) else { return nil }
        return mounts.compactMap { mount in
            guard mount.device == place.device, let rest = place.path.relative(under: mount.root) else { return nil }
            return (mount, rest)
        }
    }

    /// Where `path` (resolved, on mount `mountID`) is inside its file
    /// system: the same for every mount of it (bind mounts included), and
    /// for every btrfs subvolume, which mountinfo shows with the file
    /// system's device while stat shows one of its own. nil as for views.
    static func place(of path: FilePath, mountID: UInt64, mounts: [MountEntry]) -> FileSystemPlace? {
        guard let own = mounts.first(where: { $0.id == mountID }),
              let below = path.relative(under: own.mountPoint) else { return nil }
        return FileSystemPlace(device: own.device, path: own.root.appending(below))
    }
}

/// A path inside a file system, named by mountinfo's device ("major:minor").
struct FileSystemPlace: Sendable, Equatable {
    let device: String
    /// Absolute and normalized, "/" for the file system's root.
    let path: FilePath

    /// The directories above it, the root first. A pseudo file system's
    /// root in mountinfo is no path ("net:[4026531840]"): taken from "/",
    /// as any other.
    var ancestors: [FilePath] { FilePath.root.appending(path).ancestors }
}

extension MountTable {
    /// What outlives the mount at `mountPoint` (the last one there: the one
    /// that is seen): an overlay's upper directory, or for containerd's
    /// snapshotters the snapshot directory holding it (`.../snapshots/N`
    /// with the files in `fs`); a bind mount's source directory, found
    /// where its file system is mounted whole. nil for anything else.
    public static func persistentSource(of mountPoint: FilePath, in mounts: [MountEntry]) -> FilePath? {
        guard let entry = mounts.last(where: { $0.mountPoint == mountPoint }) else { return nil }
        if entry.fileSystemType == "overlay" {
            // Options are comma-separated; overlayfs escapes commas in paths
            // with a backslash, which no snapshot path contains.
            guard let upper = entry.superOptions.split(separator: ",").first(where: { $0.hasPrefix("upperdir=") }) else { return nil }
            return snapshotDirectory(FilePath(String(upper.dropFirst("upperdir=".count))))
        }
        guard entry.root != .root,
              let whole = mounts.last(where: { $0.device == entry.device && $0.root == .root && $0.id != entry.id })
        else { return nil }
        let source = whole.mountPoint == .root ? entry.root : FilePath(bytes: whole.mountPoint.bytes + entry.root.bytes)
        return snapshotDirectory(source)
    }

    /// containerd's snapshotters keep a snapshot's files in `N/fs` (overlay)
    /// or `N` itself (native): the snapshot is `N` either way.
    private static func snapshotDirectory(_ path: FilePath) -> FilePath {
        path.bytes.count > 3 && path.bytes.suffix(3).elementsEqual("/fs".utf8) ? FilePath(bytes: path.bytes.dropLast(3)) : path
    }
}
