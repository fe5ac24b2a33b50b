import SVirtSystem
import SVirtPaths

/// The relabel source, resolved once and pinned by an O_PATH descriptor.
struct ResolvedSource {
    let path: FilePath
    let fd: FileDescriptor
    let isDirectory: Bool
    /// The mount holding it (every directory of the walk is on it).
    let mount: MountIdentity.Root
    /// /proc/self/mountinfo as read while checking it.
    let mounts: [MountEntry]
    /// Where it is in its file system, which names its write lock (TreeLock).
    let place: FileSystemPlace

    /// realpath(3), then the policy, then an open that refuses any symlink
    /// on the way (so the path cannot have changed into one since), then a
    /// check that the fd still names that path and is not a system path
    /// reached another way (a bind mount of /etc elsewhere has /etc's inode),
    /// then the policy again on every path at which its file system shows it
    /// (a bind mount of /usr/share/doc elsewhere is still under /usr).
    /// A source whose mount cannot be identified is refused: neither that
    /// check nor the walk's mount point checks could be made.
    ///
    /// `within` confines a relabel an admin rule asked for
    /// (`--relabel-source DIR=z|Z`) to DIR: a symlink swapped in after the
    /// rule matched must not lead the walk out. Judged on the resolved path
    /// only, which the fd is then checked to name; other views of the same
    /// file system (a bind mount of a parent elsewhere) are the admin's own
    /// mounts, not an escape.
    static func open(_ path: FilePath, policy: SystemPathPolicy, within: FilePath? = nil,
                     calls: KernelCalls = KernelCalls()) throws(RelabelError) -> ResolvedSource {
        guard !path.isEmpty else { throw .refused("", "empty path") }
        let resolved: FilePath
        do { resolved = try Files.realPath(path) } catch { throw .failed("\(path)", "realpath", errno: error.errno) }
        let named = resolved == path.normalized ? "\(resolved)" : "\(path) (\(resolved))"
        if let why = policy.refusal(for: resolved) { throw .refused(named, why) }
        if let within, !resolved.isInside(within) {
            throw .refused(named, "is outside \(within), the directory its relabel rule names")
        }
        let fd: FileDescriptor
        do {
            fd = try openPinned(resolved, calls: calls)
        } catch {
            throw error == .tooManyLinks ? .refused("\(resolved)", "changed into a symlink while being resolved")
                                         : .failed("\(resolved)", "open", errno: error)
        }
        var ok = false
        defer { if !ok { fd.close() } }
        if let now = linkTarget("/proc/self/fd/\(fd.rawValue)"), now != resolved {
            throw .refused("\(resolved)", "moved while being opened (now \(now))")
        }
        let st: StatX
        do { st = try calls.status(of: fd, fields: [.type, .inode]) } catch { throw .failed("\(resolved)", "fstat", errno: error) }
        for system in policy.refused.sorted() {
            if let other = try? system.withCString({ (name) throws(Errno) in
                   try FileDescriptor.currentDirectory.oldStatus(name, [])
               }), other.device == st.device && other.inode == st.inode {
                throw .refused("\(resolved)", "is the same file as \(system)")
            }
        }
        guard let mountID = calls.mountID(of: fd) else {
            throw .refused("\(resolved)", "its mount cannot be identified (no mount ID from statx or /proc/self/fdinfo)")
        }
        guard let table = MountTable.readOwn() else {
            throw .refused("\(resolved)", "/proc/self/mountinfo is unreadable, so where it lives cannot be checked")
        }
        let mounts = MountTable.parse(table)
        guard let views = MountTable.views(of: resolved, mountID: mountID, mounts: mounts),
              let place = MountTable.place(of: resolved, mountID: mountID, mounts: mounts) else {
            throw .refused("\(resolved)", "its mount \(mountID) does not contain it in /proc/self/mountinfo")
        }
        for view in views where view != resolved {
            if let why = policy.refusal(for: view) {
                throw .refused("\(resolved)", "its file system shows it also as \(view), which \(why)")
            }
        }
        ok = true
        return ResolvedSource(path: resolved, fd: fd, isDirectory: st.isDirectory,
                              mount: MountIdentity.Root(device: st.device, mountID: mountID),
                              mounts: mounts, place: place)
    }

    /// An O_PATH descriptor of `resolved` that no symlink on the way led
    /// to (openat2; before 5.6, O_NOFOLLOW on the last component, and the
    /// proc link check after it for the rest).
    private static func openPinned(_ resolved: FilePath, calls: KernelCalls) throws(Errno) -> FileDescriptor {
        let pinned = resolved.withCString { path in
            Result { () throws(Errno) in
                try calls.open(path, in: .currentDirectory, [.pathOnly, .noFollow], resolve: [.noSymlinks, .noMagicLinks])
            }
        }
        switch pinned {
        case .success(let fd): return fd
        case .failure(let error) where !error.meansCallMissing: throw error
        case .failure: break
        }
        return try resolved.withCString { (path) throws(Errno) in
            try FileDescriptor.currentDirectory.open(path, [.pathOnly, .noFollow])
        }
    }

    static func linkTarget(_ path: String) -> FilePath? {
        guard let bytes = try? FileDescriptor.currentDirectory.readLink(path) else { return nil }
        return FilePath(bytes: bytes)
    }
}
