#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
    public let mountPoint: String
}

public enum MountTable {
    /// /proc/self/mountinfo's bytes, nil if unreadable.
    static func readOwn() -> [UInt8]? {
        let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var text: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 8)
        defer { chunk.deallocate() }
        while true {
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 || text.count > 64 << 20 { return nil }
            if n == 0 { return text }
            text.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
    }

    /// Parses mountinfo text; lines it cannot read are skipped.
    public static func parse(_ text: [UInt8]) -> [MountEntry] {
        var entries: [MountEntry] = []
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5)
            guard fields.count >= 5,
                  let id = UInt64(String(decoding: fields[0], as: UTF8.self)),
                  let parent = UInt64(String(decoding: fields[1], as: UTF8.self)) else { continue }
            entries.append(MountEntry(id: id, parent: parent, mountPoint: unescape(Array(fields[4]))))
        }
        return entries
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    public static func unescape(_ field: [UInt8]) -> String {
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
        return String(decoding: out, as: UTF8.self)
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
        tree: String, treeMount: UInt64, mounts: [MountEntry], isDirectory: (String) -> Bool
    ) -> Bool {
        for mount in mounts where mount.parent == treeMount && mount.id != treeMount {
            if SystemPathPolicy.isInside(mount.mountPoint, tree) && mount.mountPoint != SystemPathPolicy.normalize(tree) {
                return true
            }
            if !isDirectory(mount.mountPoint) { return true }
        }
        return false
    }
}
