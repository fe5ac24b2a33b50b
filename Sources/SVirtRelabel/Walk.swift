import Glibc
import SVirtSystem
import SVirtPaths
import Synchronization

/// An open directory of the tree. Closed when the last task that needs it
/// (its own reading, or a child still to be opened) lets go of it, so open
/// descriptors stay near the number of directories with pending children.
final class DirHandle: Sendable {
    let fd: FileDescriptor
    let path: FilePath
    /// The directory it was opened in, nil for the root: kept for clearing
    /// stamps up the chain (Walk.beforeWrite).
    let parent: DirHandle?
    /// Its stamp and those of all directories up to the root are gone.
    let stampsCleared: Atomic<Bool>
    /// Its own label had to be written (see WritePolicy's startBlind).
    let relabeled: Bool
    /// What of it is read (decided by Trust).
    let trust: Trust.Directory
    /// `relabeled`: writing its label removed its stamp and cleared those
    /// above it already (Worker.labelOpenDirectory).
    init(fd: FileDescriptor, path: FilePath, parent: DirHandle? = nil, trust: Trust.Directory = .everything,
         relabeled: Bool = false) {
        self.fd = fd
        self.path = path
        self.parent = parent
        self.stampsCleared = Atomic(relabeled)
        self.relabeled = relabeled
        self.trust = trust
    }
    deinit { fd.close() }
}

/// A subdirectory to open, by name, inside a directory we hold open.
struct DirTask: Sendable {
    let parent: DirHandle
    /// The name's bytes with a terminating NUL.
    let name: [CChar]

    var path: FilePath { parent.path.appending(component: name.dropLast().lazy.map { UInt8(bitPattern: $0) }) }
}

/// Work for any thread: a subdirectory to open, or a batch of entries read
/// from a directory (getdents64 records) that another thread labels, so a
/// single large directory is labeled in parallel too.
enum WalkTask: Sendable {
    case directory(DirTask)
    case entries(DirHandle, [UInt8])
}

/// One relabel's shared state: a LIFO of tasks, the worker
/// threads, and the outcome. Threads are started only when there is work
/// for them (a tree without subdirectories never starts one).
final class Walk: @unchecked Sendable {
    let root: DirHandle
    let label: FileLabel
    let threadLimit: Int
    /// Stat each non-directory for being a mount point (see MountTable).
    let entryChecks: Bool
    /// See WritePolicy: whether directories may switch to writing unread.
    let mayWriteBlind: Bool
    let method: XattrMethod
    /// The tree's mount, which every entry is compared with (see MountIdentity).
    let rootMount: MountIdentity.Root
    let calls: KernelCalls
    /// What the tree's stamp lets it skip (see Trust).
    let trust: Trust
    /// Set once the walk is ready to write: the root's stamp is gone, so an
    /// interrupted walk leaves none.
    private let readyToWrite = Atomic<Bool>(false)
    /// The walk reads without TreeLock's write lock: instead of its first
    /// write it stops, for the caller to start over under the lock.
    private let startsOverToWrite: Bool
    private(set) var mustStartOver = false
    /// Directories above the root (Relabeler.covering), whose stamps go before the
    /// first write (see beforeFirstWrite).
    private let ancestors: [FilePath]
    /// See Relabeler.afterDirectoryLabel.
    let afterDirectoryLabel: (@Sendable (String) -> Void)?
    /// Where workers add their counts as they go (Relabeler.observer).
    let progress: ProgressTracker?
    let stopped = Atomic<Bool>(false)
    /// Threads waiting for work, and whether another may still be started:
    /// a reader hands batches of entries off only when someone can take them.
    let idle = Atomic<Int>(0)
    let canSpawn: Atomic<Bool>

    // Guarded by `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stack: [WalkTask] = []
    private var active = 0
    private var threads: [pthread_t] = []
    private(set) var failure: RelabelError?
    private var warnings: [String] = []
    private(set) var stoppedWithWarning = false
    private var visited = 0
    private var changed = 0
    private var unread = 0

    init(root: DirHandle, label: FileLabel, threadLimit: Int, entryChecks: Bool, mayWriteBlind: Bool,
         method: XattrMethod? = nil, rootMount: MountIdentity.Root? = nil, calls: KernelCalls = KernelCalls(),
         trust: Trust = .none, startsOverToWrite: Bool = false, ancestors: [FilePath] = [],
         afterDirectoryLabel: (@Sendable (String) -> Void)? = nil, progress: ProgressTracker? = nil) {
        self.progress = progress
        self.mayWriteBlind = mayWriteBlind
        self.trust = trust
        self.startsOverToWrite = startsOverToWrite
        self.ancestors = ancestors
        self.afterDirectoryLabel = afterDirectoryLabel
        self.calls = calls
        self.rootMount = rootMount ?? MountIdentity.Root(
            device: (try? calls.status(of: root.fd, fields: .mountID))?.device ?? Device(major: 0, minor: 0),
            mountID: calls.mountID(of: root.fd))
        self.root = root
        self.label = label
        self.threadLimit = threadLimit
        self.canSpawn = Atomic(threadLimit > 1)
        self.entryChecks = entryChecks
        self.method = method ?? XattrMethod.probe(directory: root.fd, calls: calls) ?? .procPath
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Walks everything below the root (not the root itself).
    func run() throws(RelabelError) -> RelabelReport {
        lock(); active = 1; unlock()
        var worker = Worker(walk: self)
        worker.readDirectory(root)
        finish()
        work(&worker)
        // After a failure, threads still finishing a task may have started
        // another before seeing it: join until the list stops growing.
        var joined = 0
        while true {
            lock()
            let spawned = threads
            unlock()
            if joined == spawned.count { break }
            for thread in spawned[joined...] { pthread_join(thread, nil) }
            joined = spawned.count
        }
        if let failure { throw failure }
        return RelabelReport(visited: visited, changed: changed, unread: unread, warnings: warnings,
                             threads: 1 + joined)
    }

    /// Takes tasks until the walk is over, then adds this worker's counts.
    fileprivate func work(_ worker: inout Worker) {
        while let task = next() {
            switch task {
            case .directory(let dir): worker.openAndRead(dir)
            case .entries(let dir, let records): worker.labelRecords(dir, records)
            }
            finish()
        }
        worker.flushProgress()
        lock()
        visited += worker.visited
        changed += worker.changed
        unread += worker.unread
        unlock()
    }

    /// The ctime of the directory open at `fd`, nil when unknown; asked by
    /// Trust only while a stamp is trusted.
    func ctime(_ fd: FileDescriptor) -> TreeStamp.Timestamp? {
        guard let st = try? calls.status(of: fd, fields: .changeTime), st.fields.contains(.changeTime) else { return nil }
        return st.changeTime
    }

    /// Called before a label is written in `dir` (an entry of it, or a
    /// subdirectory's own label; nil for the root's label): a stamp tells
    /// that nothing below its directory changed since, so every stamp that
    /// covers the write goes first: those of the root's ancestors on its
    /// mount and of the root (once, beforeFirstWrite), and those of `dir`
    /// and the directories between it and the root (once each). False when
    /// nothing may be written (see beforeFirstWrite).
    func beforeWrite(in dir: DirHandle?) -> Bool {
        guard beforeFirstWrite() else { return false }
        var uncleared: [DirHandle] = []
        var next = dir
        while let d = next, !d.stampsCleared.load(ordering: .acquiring) {
            uncleared.append(d)
            next = d.parent
        }
        // Top down, so a directory marked cleared has clear ancestors.
        for d in uncleared.reversed() {
            if d !== root { guard clearStamp(d.fd, d.path) else { return false } }
            d.stampsCleared.store(true, ordering: .releasing)
        }
        return true
    }

    /// Removes the stamp of the directory open at `fd`, if it has one.
    /// False when it stays: the walk then has failed (or stopped with a
    /// warning on a read-only file system) and nothing may be written.
    func clearStamp(_ fd: FileDescriptor, _ path: FilePath) -> Bool {
        guard let e = Stamps.remove(fd: fd) else { return true }
        stopWriting(e, path)
        return false
    }

    private func stopWriting(_ e: Errno, _ path: FilePath) {
        if let warning = Walk.tolerated(e, "\(path)") {
            stop(warning: warning)
        } else {
            fail(.failed("\(path)", "removexattr \(TreeStamp.xattrName)", errno: e))
        }
    }

    /// The first write's preparation, once: removes the stamps of the
    /// directories above the root (by path: what is removed by mistake
    /// only costs a full read there) and of the root. False when
    /// nothing may be written: the walk must start over under the write
    /// lock, or the root's stamp cannot be removed (the walk has then
    /// failed, or stopped with a warning on a read-only file system, where
    /// no label could be written either).
    private func beforeFirstWrite() -> Bool {
        if readyToWrite.load(ordering: .acquiring) { return true }
        lock()
        if startsOverToWrite {
            mustStartOver = true
            stack.removeAll()
            stopped.store(true, ordering: .relaxed)
            pthread_cond_broadcast(cond)
            unlock()
            return false
        }
        var failed: (errno: Errno, path: FilePath)?
        if !readyToWrite.load(ordering: .relaxed) {
            failed = Stamps.remove(paths: ancestors)
            if failed == nil && trust.stamp != nil, let e = Stamps.remove(fd: root.fd) {
                failed = (e, root.path)
            }
            if failed == nil { readyToWrite.store(true, ordering: .releasing) }
        }
        unlock()
        guard let failed else { return true }
        stopWriting(failed.errno, failed.path)
        return false
    }

    /// Whether handing work to another thread would start it now.
    var wantsWork: Bool {
        idle.load(ordering: .relaxed) > 0 || canSpawn.load(ordering: .relaxed)
    }

    func push(_ task: DirTask) { push(.directory(task)) }

    func push(_ task: WalkTask) {
        lock()
        stack.append(task)
        if threads.count + 1 < threadLimit && !ending {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            if pthread_create(&thread, nil, walkThreadMain, context) == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Walk>.fromOpaque(context).release() // fewer threads, same result
            }
            if threads.count + 1 >= threadLimit { canSpawn.store(false, ordering: .relaxed) }
        }
        pthread_cond_signal(cond)
        unlock()
    }

    private func next() -> WalkTask? {
        lock()
        defer { unlock() }
        while stack.isEmpty && active > 0 && !ending {
            idle.add(1, ordering: .relaxed)
            pthread_cond_wait(cond, mutex)
            idle.subtract(1, ordering: .relaxed)
        }
        if ending || stack.isEmpty {
            pthread_cond_broadcast(cond)
            return nil
        }
        active += 1
        return stack.removeLast()
    }

    /// Guarded by `mutex`: no more tasks are to be taken.
    private var ending: Bool { failure != nil || stoppedWithWarning || mustStartOver }

    private func finish() {
        lock()
        active -= 1
        if active == 0 && stack.isEmpty { pthread_cond_broadcast(cond) }
        unlock()
    }

    func fail(_ error: RelabelError) {
        lock()
        if failure == nil { failure = error }
        stack.removeAll()
        stopped.store(true, ordering: .relaxed)
        pthread_cond_broadcast(cond)
        unlock()
    }

    /// ENOTSUP / EROFS: nothing more can be written on this file system.
    func stop(warning: String) {
        lock()
        if !stoppedWithWarning { warnings.append(warning) }
        stoppedWithWarning = true
        stack.removeAll()
        stopped.store(true, ordering: .relaxed)
        pthread_cond_broadcast(cond)
        unlock()
    }

    func warn(_ warning: String) {
        lock(); warnings.append(warning); unlock()
    }

    /// The warning for a tolerated errno met at `path`.
    static func warning(_ error: Errno, _ path: String) -> String {
        tolerated(error, path) ?? "\(path): errno \(error.rawValue)"
    }

    /// ENOTSUP and EROFS end the walk without failing it: nothing more
    /// can be written on this file system.
    static func isTolerated(_ error: Errno) -> Bool {
        error == .notSupported || error == .readOnlyFileSystem
    }

    static func tolerated(_ error: Errno, _ path: String) -> String? {
        switch error {
        case .notSupported:
            return "\(path): file system cannot hold SELinux labels (EOPNOTSUPP); left unlabeled"
        case .readOnlyFileSystem:
            return "\(path): read-only file system (EROFS); labels left as they are"
        default:
            return nil
        }
    }

    private func lock() { pthread_mutex_lock(mutex) }
    private func unlock() { pthread_mutex_unlock(mutex) }
}

private func walkThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let walk = Unmanaged<Walk>.fromOpaque(context!).takeRetainedValue()
    var worker = Worker(walk: walk)
    walk.work(&worker)
    return nil
}
