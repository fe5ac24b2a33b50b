import Glibc
import SVirtSystem
import SVirtPaths

/// One thread's walking: its own buffers (no allocation per entry) and
/// counts, added to the walk's when the thread is done.
struct Worker {
    let walk: Walk
    var visited = 0
    var changed = 0
    /// Entries of unchanged directories, trusted without reading (TreeStamp).
    var unread = 0
    /// Entries counted since the last flushProgress, and the counts then.
    private var sinceFlush = 0
    private let flushEvery: Int
    private var flushed = (visited: 0, changed: 0, unread: 0)
    private let dents: UnsafeMutableRawBufferPointer
    private let writer: LabelWriter
    /// "/proc/self/fd/N/name" for kernels without the *xattrat calls.
    private let procPath: UnsafeMutablePointer<CChar>
    private let procPathSize = 4096 + 64
    private let guardBox: BufferOwner

    init(walk: Walk) {
        self.walk = walk
        flushEvery = walk.progress?.observer.batch ?? Int.max
        dents = .allocate(byteCount: 64 * 1024, alignment: 8)
        let value = UnsafeMutableRawBufferPointer.allocate(byteCount: LabelWriter.valueSize(for: walk.label), alignment: 8)
        writer = LabelWriter(label: walk.label, value: value)
        procPath = .allocate(capacity: procPathSize)
        guardBox = BufferOwner(dents, value, procPath)
    }

    // MARK: directories

    /// Opens a subdirectory by name, refusing symlinks and mount crossings,
    /// labels it and reads it.
    mutating func openAndRead(_ task: DirTask) {
        if walk.stopped.load(ordering: .relaxed) { return }
        let opened = task.name.withUnsafeBufferPointer { name in
            openDirectory(task.parent.fd, name.baseAddress!)
        }
        let fd: FileDescriptor
        switch opened {
        case .opened(let descriptor):
            fd = descriptor
        case .unknownMount:
            walk.fail(.refused("\(task.path)", MountIdentity.unknownReason))
            return
        case .failed(.noEntry):
            return // vanished
        case .failed(.notDirectory), .failed(.tooManyLinks):
            // No longer a directory (swapped for a file or symlink):
            // label what is there now, without following it.
            var strict = WritePolicy(mayWriteBlind: false)
            let outcome = task.name.withUnsafeBufferPointer { name in
                labelEntry(task.parent, name.baseAddress!, &strict)
            }
            record(outcome, task.path)
            return
        case .failed(.crossDevice):
            walk.warn("\(task.path): mount point, not crossed")
            return
        case .failed(let e):
            walk.fail(.failed("\(task.path)", "open", errno: e))
            return
        }
        let outcome = labelOpenDirectory(fd, path: task.path, parent: task.parent)
        var relabeled = false
        if case .changed = outcome { relabeled = true }
        let trust = walk.trust.subdirectory(of: task.parent.trust, relabeled: relabeled, ctime: { walk.ctime(fd) })
        let dir = DirHandle(fd: fd, path: task.path, parent: task.parent, trust: trust, relabeled: relabeled)
        record(outcome, dir.path)
        walk.afterDirectoryLabel?("\(dir.path)")
        readDirectory(dir)
    }

    enum OpenedDirectory {
        case opened(FileDescriptor)
        /// EXDEV for a mount point.
        case failed(Errno)
        /// Opened, but nothing tells whether it is a mount point.
        case unknownMount
    }

    private func openDirectory(_ parent: FileDescriptor, _ name: UnsafePointer<CChar>) -> OpenedDirectory {
        // `name` is one component from getdents64 (never "..", never a
        // slash), so RESOLVE_BENEATH would add nothing but its -EAGAIN
        // retries whenever anything on the host is renamed.
        do {
            return .opened(try walk.calls.open(name, in: parent, [.directory, .noFollow],
                                               resolve: [.noCrossingMounts, .noSymlinks, .noMagicLinks]))
        } catch where !error.meansCallMissing {
            return .failed(error)
        } catch {}
        // Before Linux 5.6 (or openat2 filtered by seccomp): O_NOFOLLOW
        // refuses a symlink; what is now open is compared with the tree's
        // mount (see MountIdentity), and entered only when known to be on it.
        let old: FileDescriptor
        do { old = try parent.open(name, [.directory, .noFollow]) } catch { return .failed(error) }
        let verdict = (try? walk.calls.status(of: old, fields: .mountID)).map {
            MountIdentity.judge($0, root: walk.rootMount, fallbackMountID: { walk.calls.fdinfoMountID(old) })
        } ?? .unknown
        switch verdict {
        case .sameMount:
            return .opened(old)
        case .mountPoint:
            old.close()
            return .failed(.crossDevice)
        case .unknown:
            old.close()
            return .unknownMount
        }
    }

    /// Reads a directory's entries: subdirectories become tasks, everything
    /// else is labeled here, or by another thread when one is idle.
    mutating func readDirectory(_ dir: DirHandle) {
        var policy = WritePolicy(mayWriteBlind: walk.mayWriteBlind, startBlind: dir.relabeled)
        while !walk.stopped.load(ordering: .relaxed) {
            let n: Int
            do {
                n = try dir.fd.readDirectoryEntries(into: dents)
            } catch {
                if error != .noEntry { walk.fail(.failed("\(dir.path)", "getdents64", errno: error)) }
                return
            }
            if n == 0 { return }
            let records = UnsafeRawBufferPointer(rebasing: dents[0..<n])
            if dir.trust.labelsEntries && walk.wantsWork {
                walk.push(.entries(dir, Array(records)))
            } else {
                takeRecords(dir, records, labeling: dir.trust.labelsEntries, &policy)
            }
        }
    }

    /// A batch handed over by the thread that read it.
    mutating func labelRecords(_ dir: DirHandle, _ records: [UInt8]) {
        var policy = WritePolicy(mayWriteBlind: walk.mayWriteBlind, startBlind: dir.relabeled)
        records.withUnsafeBytes { takeRecords(dir, $0, labeling: true, &policy) }
    }

    /// Goes through getdents64 records (`struct linux_dirent64 { u64 ino;
    /// s64 off; u16 reclen; u8 type; char name[]; }`): subdirectories
    /// become tasks; the rest are labeled, or in an unchanged directory
    /// (`labeling` false) trusted and counted.
    private mutating func takeRecords(_ dir: DirHandle, _ records: UnsafeRawBufferPointer, labeling: Bool,
                                      _ policy: inout WritePolicy) {
        let base = records.baseAddress!
        var offset = 0
        while offset < records.count {
            if walk.stopped.load(ordering: .relaxed) { return }
            let reclen = Int(base.load(fromByteOffset: offset + 16, as: UInt16.self))
            let type = Int32(base.load(fromByteOffset: offset + 18, as: UInt8.self))
            let name = (base + offset + 19).assumingMemoryBound(to: CChar.self)
            offset += reclen
            if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { continue }
            var isDirectory = type == Int32(DT_DIR)
            if type == Int32(DT_UNKNOWN) {
                // File systems without d_type: ask. An unknown type is
                // opened as a directory, which labels anything else (ENOTDIR).
                do {
                    isDirectory = try walk.calls.status(name, in: dir.fd, .noFollow, fields: .type).isDirectory
                } catch {
                    if error == .noEntry { continue } // vanished
                    isDirectory = true
                }
            }
            if isDirectory {
                walk.push(DirTask(parent: dir, name: copyName(name)))
            } else if labeling {
                record(labelEntry(dir, name, &policy), dir, name)
            } else {
                unread += 1
                tick()
            }
        }
    }

    private func copyName(_ name: UnsafePointer<CChar>) -> [CChar] {
        let length = strlen(name)
        return Array(UnsafeBufferPointer(start: name, count: length + 1))
    }

    // MARK: labels

    /// The whole per-entry cost of progress reports: without an observer
    /// `flushEvery` is Int.max and the branch is never taken.
    @inline(__always) private mutating func tick() {
        sinceFlush &+= 1
        if sinceFlush >= flushEvery { flushProgress() }
    }

    /// Adds what this worker counted since the last flush to the walk's
    /// progress, which reports it if its interval is over.
    mutating func flushProgress() {
        sinceFlush = 0
        guard let progress = walk.progress else { return }
        progress.add(visited: visited - flushed.visited, changed: changed - flushed.changed,
                     unread: unread - flushed.unread)
        flushed = (visited, changed, unread)
    }

    private mutating func record(_ outcome: EntryOutcome, _ dir: DirHandle, _ name: UnsafePointer<CChar>) {
        switch outcome {
        case .unchanged: visited += 1; tick()
        case .changed: visited += 1; changed += 1; tick()
        default: record(outcome, dir.path.appending(component: Worker.bytes(name)))
        }
    }

    private mutating func record(_ outcome: EntryOutcome, _ path: FilePath) {
        defer { tick() }
        switch outcome {
        case .unchanged: visited += 1
        case .changed: visited += 1; changed += 1
        case .stop(let e): walk.stop(warning: Walk.warning(e, "\(path)"))
        case .failure(let error):
            walk.fail(error.path.isEmpty ? error.at("\(path)") : error)
        }
    }

    /// A name from getdents64, without its NUL.
    static func bytes(_ name: UnsafePointer<CChar>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: name, count: strlen(name))
    }

    /// Labels the directory open at `fd` itself (in `parent`, nil for the
    /// root), reading first (directories are few; their labels decide the
    /// fast paths). A directory inside the tree may be the root of another
    /// relabeled tree: its stamp goes before its label changes (best
    /// effort: without CAP_SYS_ADMIN, or on a file system without
    /// trusted.*, no stamp could have been read).
    func labelOpenDirectory(_ fd: FileDescriptor, path: FilePath, parent: DirHandle?) -> EntryOutcome {
        var strict = WritePolicy(mayWriteBlind: false)
        return writer.apply(&strict, path: { "\(path)" },
            beforeWrite: { walk.beforeWrite(in: parent) && (parent == nil || walk.clearStamp(fd, path)) },
            read: { (value) throws(Errno) in try fd.extendedAttribute(.selinux, into: value) },
            write: { (value) throws(Errno) in try fd.setExtendedAttribute(.selinux, to: value) })
    }

    /// Labels the entry `name` of `dir` without following it. Error paths
    /// are filled in by the caller (empty here: no string work per entry).
    func labelEntry(_ dir: DirHandle, _ name: UnsafePointer<CChar>, _ policy: inout WritePolicy) -> EntryOutcome {
        if walk.entryChecks {
            let st: StatX
            do {
                st = try walk.calls.status(name, in: dir.fd, .noFollow, fields: [.type, .mountID])
            } catch {
                if error == .noEntry { return .unchanged }
                return .failure(.failed("", "statx", errno: error))
            }
            switch MountIdentity.judge(st, root: walk.rootMount,
                                       fallbackMountID: { walk.calls.mountID(of: name, in: dir.fd) }) {
            case .sameMount:
                break
            case .mountPoint:
                walk.warn("\(dir.path.appending(component: Worker.bytes(name))): mount point, not crossed")
                return .unchanged
            case .unknown:
                // Labeling it by name could label what is mounted there.
                return .failure(.refused("", MountIdentity.unknownReason))
            }
        }
        switch walk.method {
        case .atCalls:
            let fd = dir.fd
            return writer.apply(&policy, path: { "" }, beforeWrite: { walk.beforeWrite(in: dir) },
                read: { (value) throws(Errno) in try fd.extendedAttribute(.selinux, ofEntry: name, into: value) },
                write: { (value) throws(Errno) in try fd.setExtendedAttribute(.selinux, ofEntry: name, to: value) })
        case .procPath:
            guard fillProcPath(dir.fd, name) else { return .failure(.failed("", "lgetxattr", errno: .nameTooLong)) }
            let path = UnsafePointer(procPath)
            return writer.apply(&policy, path: { "" }, beforeWrite: { walk.beforeWrite(in: dir) },
                read: { (value) throws(Errno) in
                    try PathAttributes.get(.selinux, of: path, followingLinks: false, into: value)
                },
                write: { (value) throws(Errno) in
                    try PathAttributes.set(.selinux, of: path, followingLinks: false, to: value)
                })
        }
    }

    private func fillProcPath(_ dir: FileDescriptor, _ name: UnsafePointer<CChar>) -> Bool {
        let prefix = "/proc/self/fd/\(dir.rawValue)/"
        let nameLength = strlen(name)
        let total = prefix.utf8.count + nameLength + 1
        guard total <= procPathSize else { return false }
        var i = 0
        for byte in prefix.utf8 { procPath[i] = CChar(bitPattern: byte); i += 1 }
        memcpy(procPath + i, name, nameLength + 1)
        return true
    }
}

/// Frees a worker's buffers when the last copy of the worker goes away.
private final class BufferOwner {
    let dents: UnsafeMutableRawBufferPointer
    let value: UnsafeMutableRawBufferPointer
    let procPath: UnsafeMutablePointer<CChar>
    init(_ dents: UnsafeMutableRawBufferPointer, _ value: UnsafeMutableRawBufferPointer, _ procPath: UnsafeMutablePointer<CChar>) {
        self.dents = dents
        self.value = value
        self.procPath = procPath
    }
    deinit {
        dents.deallocate()
        value.deallocate()
        procPath.deallocate()
    }
}
