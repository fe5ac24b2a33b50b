import Foundation
import Glibc
import Testing
@_spi(Bench) @testable import SVirtRelabel

@Suite("Mount points on kernels without openat2/statx mount IDs")
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

    @Test("mount verdicts: mount ID first, then the mount root attribute, then the device, then fdinfo, else unknown")
    func verdicts() {
        let root = MountIdentity.Root(devMajor: 8, devMinor: 1, mountID: 22)
        var st = StatX()
        st.devMajor = 8; st.devMinor = 1
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { nil }) == .unknown)
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { 22 }) == .sameMount)
        #expect(MountIdentity.judge(st, root: root, fallbackMountID: { 40 }) == .mountPoint)
        let noRootID = MountIdentity.Root(devMajor: 8, devMinor: 1, mountID: nil)
        #expect(MountIdentity.judge(st, root: noRootID, fallbackMountID: { 22 }) == .unknown)
        var otherDevice = st
        otherDevice.devMinor = 2
        #expect(MountIdentity.judge(otherDevice, root: root, fallbackMountID: { 22 }) == .mountPoint)
        var mountRoot = st
        mountRoot.attributesMask = LinuxFlag.statxAttrMountRoot
        mountRoot.attributes = LinuxFlag.statxAttrMountRoot
        #expect(MountIdentity.judge(mountRoot, root: root, fallbackMountID: { 22 }) == .mountPoint)
        var withID = st
        withID.mask = LinuxFlag.statxMountID
        withID.mountID = 41
        #expect(MountIdentity.judge(withID, root: root, fallbackMountID: { 22 }) == .mountPoint)
        withID.mountID = 22
        #expect(MountIdentity.judge(withID, root: root, fallbackMountID: { 41 }) == .sameMount)
    }

    @Test("fdinfo's mnt_id is read, and its absence is nil")
    func fdinfoParse() {
        #expect(MountIdentity.parseFdinfoMountID(Array("pos:\t0\nflags:\t02100000\nmnt_id:\t31\nino:\t5\n".utf8)) == 31)
        #expect(MountIdentity.parseFdinfoMountID(Array("pos:\t0\nflags:\t02100000\n".utf8)) == nil)
        let fd = open("/tmp", O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        var st = StatX()
        (_, st) = Linux.statx(fd, "", flags: LinuxFlag.atEmptyPath, mask: LinuxFlag.statxMountID)
        #expect(MountIdentity.fdinfoMountID(fd) == st.mountID)
    }
}
