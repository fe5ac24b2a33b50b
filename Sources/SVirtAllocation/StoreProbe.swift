import SVirtSystem

/// Whether a directory can hold a reservation store: the store's
/// guarantees rest on a local file system with `renameat2(RENAME_NOREPLACE)`
/// and `flock` (ReservationStore's layout notes). `svirt-hook doctor` asks
/// before a container start finds out.
public struct StoreProbe: Equatable, Sendable {
    public var fileSystem: String
    /// nil when the store can work here; otherwise the first thing that fails.
    public var problem: String?

    /// On a file system whose locks and renames are not this kernel's alone.
    public var isNetworkFileSystem: Bool { Self.remote.values.contains(fileSystem) }

    /// File systems whose locks or renames are not one kernel's: flock on
    /// NFS is emulated with POSIX locks or local-only, and two hosts sharing
    /// a store would hand out the same level.
    static let remote: [Int: String] = [
        0x6969: "nfs", 0xFF534D42: "cifs", 0xFE534D42: "smb2", 0x65735546: "fuse",
        0x00C36400: "ceph", 0x01021997: "9p", 0x013111A8: "ibrix", 0x47504653: "gpfs",
    ]
    static let local: [Int: String] = [
        0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs",
        0x794C7630: "overlay", 0x2FC12FC1: "zfs", 0xF2F52010: "f2fs",
    ]

    /// Probes `directory` (which must exist) with two scratch files named
    /// after this process, removed before returning.
    public static func probe(_ directory: String) -> StoreProbe {
        let type: Int
        do { type = try Files.fileSystemType(directory) } catch {
            return StoreProbe(fileSystem: "unknown", problem: "statfs: \(error.errno)")
        }
        let name = local[type] ?? remote[type] ?? "0x" + String(type, radix: 16)
        if remote[type] != nil {
            return StoreProbe(fileSystem: name, problem: "on \(name), a network file system: flock and rename are not atomic across hosts")
        }
        let pid = ProcessInfo.processID
        let a = directory + "/.doctor-\(pid)-a", b = directory + "/.doctor-\(pid)-b"
        defer { try? Files.remove(a); try? Files.remove(b) }
        for path in [a, b] {
            let fd: FileDescriptor
            do { fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600) } catch {
                return StoreProbe(fileSystem: name, problem: "not writable: \(error.errno)")
            }
            defer { fd.close() }
            if path == a {
                do {
                    guard try fd.lock(wait: false) else {
                        return StoreProbe(fileSystem: name, problem: "flock on a new file reports it held")
                    }
                } catch {
                    return StoreProbe(fileSystem: name, problem: "flock fails: \(error.errno)")
                }
            }
        }
        do {
            try Files.renameNoReplace(a, b)
            return StoreProbe(fileSystem: name, problem: "rename with RENAME_NOREPLACE replaced an existing file")
        } catch where error.errno == .exists {
            return StoreProbe(fileSystem: name, problem: nil)
        } catch {
            return StoreProbe(fileSystem: name, problem: "renameat2(RENAME_NOREPLACE) fails: \(error.errno)")
        }
    }
}
