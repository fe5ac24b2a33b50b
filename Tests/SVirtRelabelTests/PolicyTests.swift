import Testing
@testable import SVirtRelabel
import SVirtPaths

@Suite("System paths, labels, write policy, mount table (pure logic)")
struct PolicyTests {
    @Test("every path in the go-selinux list is refused, also with a trailing slash",
          arguments: SystemPathPolicy.systemPaths)
    func refusesSystemPaths(_ path: String) {
        let policy = SystemPathPolicy()
        #expect(policy.refusal(for: path) != nil)
        #expect(policy.refusal(for: path + "/") != nil)
    }

    @Test("subdirectories of listed paths are allowed (exact match), except under /usr")
    func exactMatch() {
        let policy = SystemPathPolicy()
        #expect(policy.refusal(for: "/var/lib/mydata") == nil)
        #expect(policy.refusal(for: "/srv/volume") == nil)
        #expect(policy.refusal(for: "/tmp/x") == nil)
        #expect(policy.refusal(for: "/home/alice/project") == nil)
        #expect(policy.refusal(for: "/usr/local/data") != nil)
        #expect(policy.refusal(for: "/usr2") == nil)
    }

    @Test("paths are split and compared as bytes: a combining mark after a slash hides neither the slash nor /usr")
    func bytePaths() {
        let policy = SystemPathPolicy()
        #expect(policy.refusal(for: "/usr/\u{301}dir") != nil)
        #expect(policy.refusal(for: "/usr//\u{301}dir/") != nil)
        #expect(LexicalPath.normalize("/a/\u{301}b//") == "/a/\u{301}b")
        #expect(LexicalPath.relative("/c/\u{301}x/vol", under: "/c") == "\u{301}x/vol")
        // Canonically equal is not equal: only these bytes are /etc.
        #expect(policy.refusal(for: "/e\u{301}tc") == nil)
    }

    @Test("extra paths (the invoking user's homes) are refused exactly")
    func extraPaths() {
        let policy = SystemPathPolicy(extraPaths: ["/home/alice/"])
        #expect(policy.refusal(for: "/home/alice") != nil)
        #expect(policy.refusal(for: "/home/alice/data") == nil)
    }

    @Test("the real uid's home from the password database is among the refused homes")
    func homesFromPasswordDatabase() {
        let homes = InvokingUserHomes.collect()
        let entry = getpwuid(getuid())!
        #expect(homes.contains(FilePath(String(cString: entry.pointee.pw_dir))))
    }

    @Test("labels compare equal with or without libselinux's trailing NUL, and only then")
    func labelComparison() {
        let label = FileLabel(labelA)
        #expect(label.matches(Array(labelA.utf8)))
        #expect(label.matches(Array(labelA.utf8) + [0]))
        #expect(!label.matches(Array(labelB.utf8) + [0]))
        #expect(!label.matches(Array(labelA.utf8.dropLast())))
        #expect(!label.matches(Array(labelA.utf8) + [0x41]))
        #expect(!label.matches([]))
        #expect(label.stored == Array(labelA.utf8) + [0])
    }

    @Test("write policy: blind after a run of differing entries or from the start under a relabeled directory, samples, and returns to reading")
    func writePolicy() {
        var policy = WritePolicy(mayWriteBlind: true)
        for _ in 0..<WritePolicy.switchAfter {
            let read = policy.shouldRead()
            #expect(read)
            policy.observed(matching: false)
        }
        #expect(policy.blind)
        var reads = 0
        for _ in 0..<(WritePolicy.sampleEvery * 3) where policy.shouldRead() { reads += 1 }
        #expect(reads == 3)
        policy.observed(matching: true)
        #expect(!policy.blind)
        let readAgain = policy.shouldRead()
        #expect(readAgain)

        // A directory whose own label was written starts blind, where allowed.
        var started = WritePolicy(mayWriteBlind: true, startBlind: true)
        #expect(started.blind)
        let firstIsSample = started.shouldRead()
        #expect(firstIsSample)
        let secondIsNot = started.shouldRead()
        #expect(!secondIsNot)
        started.observed(matching: true)
        #expect(!started.blind)
        #expect(!WritePolicy(mayWriteBlind: false, startBlind: true).blind)

        var strict = WritePolicy(mayWriteBlind: false)
        for _ in 0..<100 { strict.observed(matching: false) }
        #expect(!strict.blind)
        let strictRead = strict.shouldRead()
        #expect(strictRead)
    }

    @Test("only local file systems where rewriting is harmless allow blind writes")
    func cheapRewrite() {
        #expect(WritePolicy.cheapRewrite(fileSystemType: 0xEF53))
        #expect(WritePolicy.cheapRewrite(fileSystemType: 0x0102_1994))
        #expect(!WritePolicy.cheapRewrite(fileSystemType: 0x794C_7630)) // overlayfs
        #expect(!WritePolicy.cheapRewrite(fileSystemType: 0x6969)) // nfs
    }

    @Test("mountinfo lines parse, with octal escapes in roots and mount points")
    func mountinfoParse() {
        let text = """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
        40 22 0:5 / /srv/my\\040vol/sub rw - tmpfs tmpfs rw
        41 22 8:1 /srv/a\\040b /mnt/x rw - ext4 /dev/vda rw
        garbage
        """
        let mounts = MountTable.parse(Array(text.utf8))
        #expect(mounts == [
            MountEntry(id: 22, parent: 1, device: "8:1", root: "/", mountPoint: "/", fileSystemType: "ext4", superOptions: "rw"),
            MountEntry(id: 40, parent: 22, device: "0:5", root: "/", mountPoint: "/srv/my vol/sub", fileSystemType: "tmpfs", superOptions: "rw"),
            MountEntry(id: 41, parent: 22, device: "8:1", root: "/srv/a b", mountPoint: "/mnt/x", fileSystemType: "ext4", superOptions: "rw"),
        ])
    }

    @Test("a mount point that is not UTF-8 keeps its bytes, and a path below it is seen through it")
    func mountinfoBytes() {
        let line = Array("22 1 8:1 / / rw - ext4 /dev/vda rw\n40 22 8:1 /srv/".utf8) + [0xFF]
            + Array(" /mnt/".utf8) + [0xFE] + Array("\\040x rw - ext4 /dev/vda rw\n".utf8)
        let mounts = MountTable.parse(line)
        let point = FilePath(bytes: Array("/mnt/".utf8) + [0xFE] + Array(" x".utf8))
        #expect(mounts.map(\.mountPoint) == ["/", point])
        #expect(mounts.last?.root == FilePath(bytes: Array("/srv/".utf8) + [0xFF]))
        let below = point.appending(component: Array("f".utf8))
        #expect(MountTable.views(of: below, mountID: 40, mounts: mounts)
            == [FilePath(bytes: Array("/srv/".utf8) + [0xFF] + Array("/f".utf8)), below])
    }

    @Test("entry checks are needed for a child mount inside the tree or a file mount anywhere on its mount")
    func entryChecks() {
        let mounts = [
            MountEntry(id: 22, parent: 1, mountPoint: "/"),
            MountEntry(id: 30, parent: 22, mountPoint: "/proc"),
            MountEntry(id: 31, parent: 22, mountPoint: "/srv/vol/inner"),
            MountEntry(id: 32, parent: 22, mountPoint: "/etc/resolv.conf"),
            MountEntry(id: 33, parent: 99, mountPoint: "/srv/other/inner"),
        ]
        let dirs: (FilePath) -> Bool = { $0 != "/etc/resolv.conf" }
        #expect(MountTable.needsEntryChecks(tree: "/srv/vol", treeMount: 22, mounts: Array(mounts[0...2]), isDirectory: dirs))
        #expect(!MountTable.needsEntryChecks(tree: "/srv/volume", treeMount: 22, mounts: Array(mounts[0...2]), isDirectory: dirs))
        #expect(MountTable.needsEntryChecks(tree: "/srv/data", treeMount: 22, mounts: mounts, isDirectory: dirs))
        #expect(!MountTable.needsEntryChecks(tree: "/srv/other", treeMount: 22, mounts: [mounts[0], mounts[1], mounts[4]], isDirectory: dirs))
    }
}

#if canImport(Glibc)
import Glibc
#endif
