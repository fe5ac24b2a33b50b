import Glibc
import SVirtSystem
import SVirtPaths

/// The relabel source, resolved once and pinned by an LinuxFlag.openPath descriptor.
struct ResolvedSource {
    let path: String
    let fd: Int32
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
    static func open(_ path: String, policy: SystemPathPolicy, within: String? = nil,
                     calls: KernelCalls = KernelCalls()) throws(RelabelError) -> ResolvedSource {
        guard !path.isEmpty else { throw .refused(path, "empty path") }
        let resolved: String
        do { resolved = try Files.realPath(path) } catch { throw .failed(path, "realpath", errno: error.errno.rawValue) }
        let named = resolved == LexicalPath.normalize(path) ? resolved : "\(path) (\(resolved))"
        if let why = policy.refusal(for: resolved) { throw .refused(named, why) }
        if let within, !LexicalPath.isInside(resolved, within) {
            throw .refused(named, "is outside \(within), the directory its relabel rule names")
        }
        var fd = calls.openat2(AT_FDCWD, resolved, flags: LinuxFlag.openPath | O_NOFOLLOW,
                               resolve: LinuxFlag.resolveNoSymlinks | LinuxFlag.resolveNoMagicLinks)
        if fd < 0 && (errno == ENOSYS || errno == EPERM) {
            fd = Glibc.open(resolved, LinuxFlag.openPath | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            let e = errno
            throw e == ELOOP ? .refused(resolved, "changed into a symlink while being resolved")
                             : .failed(resolved, "open", errno: e)
        }
        var ok = false
        defer { if !ok { close(fd) } }
        if let now = linkTarget("/proc/self/fd/\(fd)"), now != resolved {
            throw .refused(resolved, "moved while being opened (now \(now))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .failed(resolved, "fstat", errno: errno) }
        for system in policy.refused.sorted() {
            var other = stat()
            if stat(system, &other) == 0 && other.st_dev == st.st_dev && other.st_ino == st.st_ino {
                throw .refused(resolved, "is the same file as \(system)")
            }
        }
        guard let mountID = calls.mountID(fd) else {
            throw .refused(resolved, "its mount cannot be identified (no mount ID from statx or /proc/self/fdinfo)")
        }
        guard let table = MountTable.readOwn() else {
            throw .refused(resolved, "/proc/self/mountinfo is unreadable, so where it lives cannot be checked")
        }
        let mounts = MountTable.parse(table)
        guard let views = MountTable.views(of: resolved, mountID: mountID, mounts: mounts),
              let place = MountTable.place(of: resolved, mountID: mountID, mounts: mounts) else {
            throw .refused(resolved, "its mount \(mountID) does not contain it in /proc/self/mountinfo")
        }
        for view in views where view != resolved {
            if let why = policy.refusal(for: view) {
                throw .refused(resolved, "its file system shows it also as \(view), which \(why)")
            }
        }
        ok = true
        return ResolvedSource(path: resolved, fd: fd, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR,
                              mount: MountIdentity.Root(devMajor: MountIdentity.major(st.st_dev),
                                                        devMinor: MountIdentity.minor(st.st_dev), mountID: mountID),
                              mounts: mounts, place: place)
    }

    static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
