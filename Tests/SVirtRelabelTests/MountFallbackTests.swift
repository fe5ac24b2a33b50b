import Foundation
import Glibc
import Testing
@_spi(Bench) @testable import SVirtRelabel
import SVirtSystem
import SVirtPaths

@Suite("Mount points on kernels without openat2/statx mount IDs, and bind mounts of refused paths", .needsRoot)
struct MountFallbackTests {
    /// A tree holding a plain file, a subdirectory, a bind mount of a
    /// directory and of a file of the same file system (same st_dev: only a
    /// mount ID tells them apart) and a tmpfs (another st_dev).
    private func treeWithMounts(_ scratch: Scratch) throws -> (tree: String, outside: [String]) {
        let tree = scratch.dir("tree")
        scratch.file("tree/plain")
        scratch.file("tree/sub/inner")
        let outsideDir = scratch.dir("outside-dir")
        scratch.file("outside-dir/x")
        try scratch.mount(["--bind", outsideDir], at: scratch.dir("tree/mnt"))
        let outsideFile = scratch.file("outside-file")
        try scratch.mount(["--bind", outsideFile], at: scratch.file("tree/bound-file"))
        let tmpfs = scratch.dir("tree/tmpfs")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: tmpfs)
        scratch.file("tree/tmpfs/hidden")
        return (tree, [outsideDir, outsideDir + "/x", outsideFile, tmpfs, tmpfs + "/hidden"])
    }

    @Test("mount points are neither entered nor labeled whichever of openat2, statx and its mount ID is missing",
          arguments: [
              KernelCalls.Missing.openat2,
              [.openat2, .statxMountID],
              [.openat2, .statx],
              [.statxMountID],
              [.statx],
          ] as [KernelCalls.Missing])
    func fallbacksDoNotCrossMounts(_ missing: KernelCalls.Missing) throws {
        let scratch = Scratch()
        let (tree, outside) = try treeWithMounts(scratch)
        var relabeler = Relabeler(threads: 2, policy: SystemPathPolicy())
        relabeler.forcedMethod = .procPath
        relabeler.calls = KernelCalls(missing: missing)
        let report = try relabeler.relabel(tree, to: labelA)
        for path in outside { #expect(label(path) == nil, "\(path) labeled") }
        for path in [tree, tree + "/plain", tree + "/sub", tree + "/sub/inner"] {
            #expect(label(path) == labelA, "\(path) not labeled")
        }
        #expect(report.warnings.count == 3)
        #expect(report.warnings.allSatisfy { $0.contains("mount point") })
    }

    @Test("on overlayfs, whose files report a lower layer's device, files are labeled without statx mount IDs")
    func overlayFilesAreNotMountPoints() throws {
        let scratch = Scratch()
        let lower = scratch.dir("lower")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: lower)
        scratch.file("lower/f")
        scratch.file("lower/d/g")
        _ = (scratch.dir("upper"), scratch.dir("work"))
        let tree = scratch.dir("tree")
        try scratch.mount(["-t", "overlay", "-o",
                           "lowerdir=\(lower),upperdir=\(scratch.path)/upper,workdir=\(scratch.path)/work", "overlay"],
                          at: tree)
        // A file mount inside makes the walk check every entry.
        let outsideFile = scratch.file("outside-file")
        try scratch.mount(["--bind", outsideFile], at: scratch.file("tree/bound-file"))
        var relabeler = Relabeler(threads: 2, policy: SystemPathPolicy())
        relabeler.forcedMethod = .procPath
        relabeler.calls = KernelCalls(missing: [.openat2, .statxMountID])
        let report = try relabeler.relabel(tree, to: labelA)
        for path in [tree, tree + "/f", tree + "/d", tree + "/d/g"] {
            #expect(label(path) == labelA, "\(path) not labeled")
        }
        #expect(label(outsideFile) == nil)
        #expect(report.warnings.count == 1)
    }

    @Test("with no mount ID from statx nor /proc/self/fdinfo the relabel is refused and nothing is labeled")
    func noMountIdentityRefuses() throws {
        let scratch = Scratch()
        let (tree, outside) = try treeWithMounts(scratch)
        var relabeler = Relabeler(threads: 2, policy: SystemPathPolicy())
        relabeler.forcedMethod = .procPath
        relabeler.calls = KernelCalls(missing: [.openat2, .statxMountID, .fdinfo])
        #expect {
            _ = try relabeler.relabel(tree, to: labelA)
        } throws: { error in
            (error as? RelabelError)?.refusal?.contains("cannot be identified") ?? false
        }
        #expect(labels(tree, recursive: true).isEmpty)
        for path in outside { #expect(label(path) == nil) }
    }

    @Test("without the *xattrat calls (before 6.13) nor statx (before 4.11) the proc path is chosen and the tree labeled")
    func noXattrAtNorStatx() throws {
        let scratch = Scratch()
        let (tree, outside) = try treeWithMounts(scratch)
        let calls = KernelCalls(missing: [.xattrAtCalls, .statx, .openat2])
        let fd = try FileDescriptor.open(tree, .directory)
        defer { fd.close() }
        #expect(XattrMethod.probe(directory: fd, calls: calls) == .procPath)
        var relabeler = Relabeler(threads: 2, policy: SystemPathPolicy())
        relabeler.calls = calls
        _ = try relabeler.relabel(tree, to: labelA)
        for path in outside { #expect(label(path) == nil, "\(path) labeled") }
        for path in [tree, tree + "/plain", tree + "/sub", tree + "/sub/inner"] {
            #expect(label(path) == labelA, "\(path) not labeled")
        }
    }

    @Test("mount verdicts: statx mount ID, then the mount root attribute, then fdinfo, then a different device, else unknown")
    func verdicts() {
        let root = MountIdentity.Root(device: Device(major: 8, minor: 1), mountID: 22)
        var st = StatX()
        st.device = Device(major: 8, minor: 1)
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { nil }) == .unknown)
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { 22 }) == .sameMount)
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { 40 }) == .mountPoint)
        let noRootID = MountIdentity.Root(device: Device(major: 8, minor: 1), mountID: nil)
        #expect(MountIdentity.judge(st, root: noRootID, fallbackMountID: { 22 }) == .unknown)
        var otherDevice = st
        otherDevice.device.minor = 2
        #expect(MountIdentity.judge(otherDevice, root: root, fallbackMountID: { nil }) == .mountPoint)
        #expect(MountIdentity.judge(otherDevice, root: noRootID, fallbackMountID: { nil }) == .mountPoint)
        // overlayfs files report a lower layer's device: the mount ID decides.
        #expect(MountIdentity.judge(otherDevice, root: root, fallbackMountID: { 22 }) == .sameMount)
        var mountRoot = st
        mountRoot.knownAttributes = .mountRoot
        mountRoot.attributes = .mountRoot
        #expect(MountIdentity.judge(mountRoot, root: root, fallbackMountID: { 22 }) == .mountPoint)
        var withID = st
        withID.fields = .mountID
        withID.mountID = 41
        #expect(MountIdentity.judge(withID, root: root, fallbackMountID: { 22 }) == .mountPoint)
        withID.mountID = 22
        #expect(MountIdentity.judge(withID, root: root, fallbackMountID: { 41 }) == .sameMount)
    }

    @Test("fdinfo's mnt_id is read, and its absence is nil")
    func fdinfoParse() throws {
        #expect(FileDescriptorInfo.parseMountID(Array("pos:\t0\nflags:\t02100000\nmnt_id:\t31\nino:\t5\n".utf8)) == 31)
        #expect(FileDescriptorInfo.parseMountID(Array("pos:\t0\nflags:\t02100000\n".utf8)) == nil)
        let fd = try FileDescriptor.open("/tmp", .directory)
        defer { fd.close() }
        let st = try fd.statx(fields: .mountID)
        #expect(FileDescriptorInfo.mountID(fd) == st.knownMountID)
    }

    @Test("a path is seen through every mount of its file system whose root contains it")
    func views() {
        let mounts = [
            MountEntry(id: 22, parent: 1, device: "8:1", root: "/", mountPoint: "/"),
            MountEntry(id: 40, parent: 22, device: "8:1", root: "/usr/share/doc", mountPoint: "/tmp/x"),
            MountEntry(id: 41, parent: 22, device: "0:5", root: "/", mountPoint: "/tmp/x/y"),
            MountEntry(id: 42, parent: 22, device: "8:1", root: "/usr", mountPoint: "/mnt/u"),
        ]
        #expect(MountTable.views(of: "/tmp/x/a", mountID: 40, mounts: mounts)
                == ["/usr/share/doc/a", "/tmp/x/a", "/mnt/u/share/doc/a"])
        #expect(MountTable.views(of: "/tmp/x", mountID: 40, mounts: mounts)
                == ["/usr/share/doc", "/tmp/x", "/mnt/u/share/doc"])
        #expect(MountTable.views(of: "/srv/data", mountID: 22, mounts: mounts) == ["/srv/data"])
        #expect(MountTable.views(of: "/tmp/x/y/z", mountID: 41, mounts: mounts) == ["/tmp/x/y/z"])
        #expect(MountTable.views(of: "/srv/data", mountID: 40, mounts: mounts) == nil)
        #expect(MountTable.views(of: "/srv/data", mountID: 99, mounts: mounts) == nil)
    }

    @Test("the directories covering a path: above it up to each mount point, in every view of its file system")
    func coveringDirectories() {
        let mounts = [
            MountEntry(id: 22, parent: 1, device: "8:1", root: "/", mountPoint: "/"),
            MountEntry(id: 40, parent: 22, device: "8:1", root: "/srv/t/b", mountPoint: "/m"),
            MountEntry(id: 41, parent: 22, device: "0:5", root: "/", mountPoint: "/m/y"),
        ]
        // Through /m: /m itself; through /: /srv/t/b, /srv/t, /srv and /.
        func covering(_ path: String, _ id: UInt64) -> [String]? {
            MountTable.coveringDirectories(of: FilePath(path), mountID: id, mounts: mounts)?.map { "\($0.mountID) \($0.path)" }
        }
        // Through /m: /m itself; through /: /srv/t/b, /srv/t, /srv and /.
        #expect(covering("/m/c", 40) == ["22 /srv/t/b", "22 /srv/t", "22 /srv", "22 /", "40 /m"])
        #expect(covering("/srv/t/b/c", 22) == ["22 /srv/t/b", "22 /srv/t", "22 /srv", "22 /", "40 /m"])
        // A mount's own root is not covered by the view it is the top of.
        #expect(covering("/m", 40) == ["22 /srv/t", "22 /srv", "22 /"])
        #expect(covering("/m/y/z", 41) == ["41 /m/y"])
        #expect(covering("/x", 99) == nil)
    }

    @Test("a bind mount of a refused subtree is refused like the subtree itself, and nothing is labeled")
    func bindMountOfRefusedSubtree() throws {
        let scratch = Scratch()
        let protected = scratch.dir("protected")
        scratch.file("protected/sub/file")
        scratch.file("protected/other")
        let policy = SystemPathPolicy(subtrees: [protected])
        let alias = scratch.dir("alias")
        try scratch.mount(["--bind", protected + "/sub"], at: alias)
        let aliasOfParent = scratch.dir("alias-of-parent")
        try scratch.mount(["--bind", protected], at: aliasOfParent)
        let aliasFile = scratch.file("alias-file")
        try scratch.mount(["--bind", protected + "/sub/file"], at: aliasFile)
        for source in [alias, aliasOfParent + "/sub", aliasFile] {
            #expect {
                _ = try Relabeler(policy: policy).relabel(source, to: labelA)
            } throws: { error in
                (error as? RelabelError)?.refusal?.contains("is under \(protected)") ?? false
            }
        }
        #expect(labels(protected, recursive: true).isEmpty)

        // The same mounts of a directory the policy allows are relabeled.
        let allowed = Relabeler(policy: SystemPathPolicy(subtrees: []))
        _ = try allowed.relabel(alias, to: labelA)
        #expect(label(protected + "/sub/file") == labelA)
    }

    @Test("a read-only bind mount of a directory under /usr is refused by the default policy, which sees it under /usr")
    func bindMountOfUsrRefused() throws {
        let scratch = Scratch()
        let point = scratch.dir("usr-share-again")
        // Read-only: even a wrong answer could not write to /usr/share.
        try scratch.mount(["--bind", "-o", "ro", "/usr/share"], at: point)
        let before = label("/usr/share")
        #expect {
            _ = try Relabeler().relabel(point, to: labelA)
        } throws: { error in
            (error as? RelabelError)?.refusal?.contains("/usr/share, which is under /usr") ?? false
        }
        #expect(label("/usr/share") == before)
    }
}

@Suite("MountTable: what outlives a mount")
struct PersistentSourceTests {
    static let mountinfo = """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        30 22 0:40 / /run rw shared:5 - tmpfs tmpfs rw,mode=755
        101 30 0:77 / /run/containerd/io.containerd.runtime.v2.task/default/redis1/rootfs rw,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/work
        102 30 8:1 /var/lib/containerd/io.containerd.snapshotter.v1.native/snapshots/9 /run/containerd/io.containerd.runtime.v2.task/default/web/rootfs rw,relatime - ext4 /dev/sda1 rw
        103 22 8:1 /srv/with\\040space /mnt/x rw - ext4 /dev/sda1 rw
        104 30 0:40 /sub /run/y rw - tmpfs tmpfs rw
        """

    @Test("mountinfo's type and super options are read past the optional fields")
    func typeAndOptions() {
        let mounts = MountTable.parse(Array(Self.mountinfo.utf8))
        #expect(mounts.map(\.fileSystemType) == ["ext4", "tmpfs", "overlay", "ext4", "ext4", "tmpfs"])
        #expect(mounts[2].superOptions.contains("upperdir=/var/lib/containerd/"))
    }

    @Test("an overlay root: the snapshot holding its upper directory; a native snapshot: the bind mount's source")
    func containerdSnapshots() {
        let mounts = MountTable.parse(Array(Self.mountinfo.utf8))
        #expect(MountTable.persistentSource(of: "/run/containerd/io.containerd.runtime.v2.task/default/redis1/rootfs", in: mounts)
                == "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7")
        #expect(MountTable.persistentSource(of: "/run/containerd/io.containerd.runtime.v2.task/default/web/rootfs", in: mounts)
                == "/var/lib/containerd/io.containerd.snapshotter.v1.native/snapshots/9")
        #expect(MountTable.persistentSource(of: "/mnt/x", in: mounts) == "/srv/with space")
        #expect(MountTable.persistentSource(of: "/run/y", in: mounts) == "/run/sub")
    }

    @Test("an overlay whose upper directory is not UTF-8 has no source, rather than a repaired one naming another")
    func upperNotUTF8() {
        let line = Array("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n90 22 0:50 / /r rw - overlay overlay rw,upperdir=/s/".utf8)
            + [0xFF] + Array("/fs,workdir=/s/w\n".utf8)
        let mounts = MountTable.parse(line)
        #expect(mounts.last?.fileSystemType == "overlay")
        #expect(mounts.last?.superOptions == "")
        #expect(MountTable.persistentSource(of: "/r", in: mounts) == nil)
    }

    @Test("nothing mounted there, or a whole file system mounted there: no source")
    func nothingBehind() {
        let mounts = MountTable.parse(Array(Self.mountinfo.utf8))
        #expect(MountTable.persistentSource(of: "/run/containerd/io.containerd.runtime.v2.task/default/gone/rootfs", in: mounts) == nil)
        #expect(MountTable.persistentSource(of: "/run", in: mounts) == nil)
    }
}
