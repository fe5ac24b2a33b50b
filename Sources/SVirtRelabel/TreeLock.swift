import SVirtSystem
import SVirtPaths

/// Locks that keep tree stamps true while svirt processes relabel at once,
/// as lock files in a root-only directory under /run, not on the trees:
/// a container sharing a volume could hold a lock on its directory forever.
/// A lock goes with its descriptor, so a killed relabel releases it.
///
/// - The tree lock (per root device and inode) is held from reading a
///   tree's stamp to writing it: two walks of one tree take turns.
/// - The write lock (WriteLock) is held by every walk that writes, from
///   before its first read to its end, and by a file volume's relabel. It
///   covers one place in one file system: a writer takes it exclusively on
///   its tree's place and shared on every directory above it, so writers
///   of nested trees take turns (an inner walk must not interleave its
///   labels with an outer one's under the outer stamp) and writers of
///   unrelated trees do not wait. Places are file system paths (mountinfo's
///   root joined with the part below the mount point), so every bind mount
///   of one directory, and every btrfs subvolume of one file system, names
///   the same lock. Locks are taken top down, so they cannot deadlock.
///
/// Waiting is bounded (`defaultTimeout`, 300 s: long enough for a first
/// pass over millions of files, short of a container start that never
/// ends): a walk stuck on its disk would otherwise hold up every walk that
/// needs to write there. The holder writes its pid into the lock file, so a
/// waiter that gives up can say who held it.
///
/// Lock files are removed on release, by a holder that finds itself the
/// only one (it can then lock the file exclusively without waiting); a
/// waiter that then holds a removed file's lock notices (the name no longer
/// leads to its file) and retries. A file whose flock failed is left for
/// the next holder to remove: unlinking a file someone else may hold would
/// let two processes hold the lock at once.
final class TreeLock {
    static let defaultDirectory = "/run/svirt-hook/relabel"
    public static let defaultTimeout: Double = 300

    /// The lock stayed held for the whole timeout.
    struct Timeout: Error {
        let name: String
        /// "pid N (command)" as the lock file and /proc tell, or "unknown".
        let holder: String
    }

    private let file: FileDescriptor
    private let path: String

    private init(file: FileDescriptor, path: String) {
        self.file = file
        self.path = path
    }

    deinit {
        // Unlinked only while nobody else holds it, and before closing:
        // nobody can lock this file once it is unreachable.
        if (try? file.lock(wait: false)) == true { try? FileDescriptor.currentDirectory.removeFile(path) }
        file.close()
    }

    static func forTree(_ root: FileDescriptor, directory: String,
                        timeout: Double = defaultTimeout) throws(Timeout) -> TreeLock? {
        guard let st = try? root.status() else { return nil }
        return try acquire("tree-\(UInt64(st.st_dev))-\(UInt64(st.st_ino))", directory: directory, timeout: timeout)
    }

    /// The write lock for `place` (see the type's comment): exclusive on
    /// it, shared on the directories above, taken top down, each waited for
    /// within what is left of one `timeout`.
    static func forWrites(_ place: FileSystemPlace, directory: String,
                          timeout: Double = defaultTimeout) throws(Timeout) -> WriteLock? {
        let deadline = ProcessInfo.monotonicSeconds() + timeout
        var held: [TreeLock] = []
        for (path, shared) in place.ancestors.map({ ($0, true) }) + [(place.path, false)] {
            guard let lock = try acquire(writeLockName(place.device, path), directory: directory, shared: shared,
                                         timeout: max(0, deadline - ProcessInfo.monotonicSeconds()),
                                         shown: "writes \(shared ? "under" : "to") \(path) on \(place.device)")
            else { return nil }
            held.append(lock)
        }
        return WriteLock(held: held)
    }

    /// One file name per place: its hash (FNV-1a). Two places sharing a
    /// name only wait for each other more often than they need to.
    static func writeLockName(_ device: String, _ path: FilePath) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let dev = String(device.map { $0 == ":" ? "." : $0 })
        return "writes-\(dev)-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Waits up to `timeout` seconds for the lock `name` (or, without
    /// `wait`, takes it only if it is free). nil when the lock directory is
    /// unusable (cannot be made, a symlink, not ours alone), the file
    /// cannot be opened, or it is held and `wait` is false: the caller then
    /// trusts and writes no stamp. Throws when the wait timed out.
    /// `shown` names the lock in a timeout's message (default: `name`).
    static func acquire(_ name: String, directory: String, shared: Bool = false, wait: Bool = true,
                        timeout: Double = defaultTimeout, shown: String? = nil) throws(Timeout) -> TreeLock? {
        guard let dir = openPrivateDirectory(directory) else { return nil }
        defer { dir.close() }
        let path = directory + "/" + name
        let deadline = ProcessInfo.monotonicSeconds() + timeout
        var pause: UInt32 = 1_000
        while true {
            guard let file = try? dir.open(name, [.readWrite, .create, .noFollow], mode: 0o600) else { return nil }
            // Polled rather than blocking: flock has no timeout of its own,
            // and a signal-based one would need process-wide state.
            while true {
                guard let locked = try? file.lock(shared: shared, wait: false) else {
                    file.close()
                    return nil
                }
                if locked { break }
                guard wait else {
                    file.close()
                    return nil
                }
                if ProcessInfo.monotonicSeconds() >= deadline {
                    let holder = holderOf(file)
                    file.close()
                    throw Timeout(name: shown ?? name, holder: holder)
                }
                ProcessInfo.sleep(microseconds: pause)
                pause = min(pause * 2, 50_000)
            }
            if file.isStill(named: name, relativeTo: dir) {
                // Fixed width, written in one call at offset 0: holders of a
                // shared lock overwrite each other whole, never in part.
                let digits = String(ProcessInfo.processID)
                let pid = Array((String(repeating: " ", count: max(0, 10 - digits.count)) + digits + "\n").utf8)
                _ = try? file.write(pid, atOffset: 0)
                return TreeLock(file: file, path: path)
            }
            file.close() // the previous holder removed it: lock the current file
        }
    }

    /// Who holds the lock file open at `file`: the pid its holder wrote,
    /// and that process's command name.
    private static func holderOf(_ file: FileDescriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { (try? file.read(into: $0, atOffset: 0)) ?? 0 }
        guard n > 0, let line = buffer[0..<n].split(separator: UInt8(ascii: "\n")).first,
              let pid = Int32(String(decoding: line.filter { $0 != UInt8(ascii: " ") }, as: UTF8.self))
        else { return "unknown" }
        guard let comm = try? Files.read("/proc/\(pid)/comm", limit: 64), !comm.isEmpty else { return "pid \(pid)" }
        return "pid \(pid) (\(String(decoding: comm, as: UTF8.self).split(separator: "\n").first ?? ""))"
    }

    /// Opens (making what is missing, mode 0700) `path` without following
    /// a symlink at any component, and only if the directory itself is
    /// owned by us and writable by nobody else.
    private static func openPrivateDirectory(_ path: String) -> FileDescriptor? {
        guard LexicalPath.isAbsolute(path),
              var fd = try? FileDescriptor.currentDirectory.open("/", .directory) else { return nil }
        for part in path.split(separator: "/").map(String.init) {
            var next: FileDescriptor?
            do {
                next = try fd.open(part, [.directory, .noFollow])
            } catch .noEntry {
                // EEXIST: made meanwhile; any other failure shows in the open.
                try? fd.makeDirectory(part, mode: 0o700)
                next = try? fd.open(part, [.directory, .noFollow])
            } catch {}
            fd.close()
            guard let next else { return nil }
            fd = next
        }
        guard let st = try? fd.status(), st.st_uid == ProcessInfo.effectiveUserID, st.st_mode & 0o022 == 0 else {
            fd.close()
            return nil
        }
        return fd
    }
}

/// The locks of one write (TreeLock.forWrites), released together.
struct WriteLock {
    let held: [TreeLock]
}
