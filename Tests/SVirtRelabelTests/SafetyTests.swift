import Foundation
import Glibc
import Testing
@testable import SVirtRelabel
import SVirtPaths

@Suite("Refusals, mount points and file systems that cannot take labels", .needsRoot)
struct SafetyTests {
    @Test("system paths are refused after resolving symlinks and '..', before anything is opened for writing",
          arguments: ["/etc", "/etc/", "/var/lib", "/tmp/../etc", "/var/lib/../lib", "/usr/share", "/", "/root"])
    func refusesResolvedSystemPaths(_ path: String) {
        #expect(throws: RelabelError.self) {
            _ = try ResolvedSource.open(FilePath(path), policy: SystemPathPolicy(extraPaths: InvokingUserHomes.collect()))
        }
    }

    @Test("a symlink to a system path is refused by relabel itself, with the resolved path named")
    func refusesSymlinkToSystemPath() {
        let scratch = Scratch()
        let link = scratch.symlink("looks-harmless", to: "/proc")
        #expect {
            _ = try Relabeler().relabel(link, to: labelA)
        } throws: { error in
            guard let error = error as? RelabelError else { return false }
            return error.refusal != nil && error.description.contains("/proc")
        }
    }

    @Test("a bind mount of a system directory is refused by identity")
    func refusesBindMountOfSystemPath() throws {
        let scratch = Scratch()
        let point = scratch.dir("etc-again")
        try scratch.mount(["--bind", "-o", "ro", "/etc"], at: point)
        #expect {
            _ = try Relabeler().relabel(point, to: labelA)
        } throws: { error in
            (error as? RelabelError)?.description.contains("same file as /etc") ?? false
        }
    }

    @Test("a missing source fails with its path and ENOENT")
    func missingSource() {
        #expect {
            _ = try Relabeler().relabel("/tmp/svirt-relabel-does-not-exist/x", to: labelA)
        } throws: { error in
            (error as? RelabelError)?.errno == .noEntry
        }
    }

    @Test("works on tmpfs too")
    func tmpfs() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        try scratch.mount(["-t", "tmpfs", "-o", "size=8m", "tmpfs"], at: tree)
        scratch.file("tree/a/b")
        scratch.symlink("tree/link", to: "/etc/hostname")
        let hostLabel = label("/etc/hostname")
        let report = try Relabeler().relabel(tree, to: labelA)
        #expect(report.changed == 4)
        for path in allPaths(tree) { #expect(label(path) == labelA, "\(path)") }
        #expect(label("/etc/hostname") == hostLabel)
    }

    @Test("mount points inside the tree are neither entered nor labeled, with a warning")
    func mountPointsNotCrossed() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        scratch.file("tree/plain")
        let inner = scratch.dir("tree/inner")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: inner)
        scratch.file("tree/inner/hidden")
        let outsideFile = scratch.file("outside-file")
        let fileMount = scratch.file("tree/bound-file")
        try scratch.mount(["--bind", outsideFile], at: fileMount)
        let outsideDir = scratch.dir("outside-dir")
        scratch.file("outside-dir/x")
        let dirMount = scratch.dir("tree/bound-dir")
        try scratch.mount(["--bind", outsideDir], at: dirMount)

        let report = try Relabeler(threads: 2).relabel(tree, to: labelA)
        #expect(label(tree + "/plain") == labelA)
        #expect(label(tree) == labelA)
        #expect(label(inner) == nil)
        #expect(label(inner + "/hidden") == nil)
        #expect(label(outsideFile) == nil)
        #expect(labels(outsideDir, recursive: true).isEmpty)
        #expect(report.warnings.count == 3)
        #expect(report.warnings.allSatisfy { $0.contains("mount point") })
    }

    @Test("a file system that cannot hold labels (ENOTSUP) is a warning, not a failure")
    func notSupported() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        try scratch.mount(["-t", "ramfs", "ramfs"], at: tree)
        scratch.file("tree/a")
        let report = try Relabeler().relabel(tree, to: labelA)
        #expect(report.changed == 0)
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains("EOPNOTSUPP") == true)
    }

    @Test("a read-only file system (EROFS) is a warning when labels differ (a stamp to remove included), silent when they match")
    func readOnly() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: tree)
        scratch.file("tree/a")
        try run("/bin/mount", ["-o", "remount,ro", tree])
        let report = try Relabeler().relabel(tree, to: labelA)
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains("EROFS") == true)
        try run("/bin/mount", ["-o", "remount,rw", tree])
        _ = try Relabeler().relabel(tree, to: labelA)
        try run("/bin/mount", ["-o", "remount,ro", tree])
        let again = try Relabeler().relabel(tree, to: labelA)
        #expect(again.warnings.isEmpty)
        #expect(again.changed == 0)
        // Stamped by the rw relabel: the stamp cannot be removed either.
        #expect(stamp(tree) != nil)
        let other = try Relabeler().relabel(tree, to: labelB)
        #expect(other.warnings.count == 1)
        #expect(other.warnings.first?.contains("EROFS") == true)
        #expect(other.changed == 0)
    }
}

@Suite("Warnings name the entry", .needsRoot)
struct EntryWarningTests {
    @Test("a read-only file system met at an entry (its root already labeled) is warned about with that entry's path")
    func entryWarningNamesPath() throws {
        let scratch = Scratch()
        let tree = scratch.dir("tree")
        try scratch.mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], at: tree)
        let file = scratch.file("tree/a")
        try run("/usr/bin/setfattr", ["-h", "-n", "security.selinux", "-v", labelA, tree])
        try run("/bin/mount", ["-o", "remount,ro", tree])
        var relabeler = Relabeler(threads: 1)
        relabeler.lockDirectory = "/proc/svirt-no-such-dir" // no stamp to remove first: the entry's write meets EROFS
        let report = try relabeler.relabel(tree, to: labelA)
        #expect(report.warnings == ["\(file): read-only file system (EROFS); labels left as they are"])
    }
}

@Suite("Relabels an admin rule asked for stay in the rule's directory", .needsRoot)
struct ConfinementTests {
    @Test("a source inside the directory is relabeled; one whose symlink now leads out is refused and left untouched")
    func symlinkOutOfRuleDirectoryRefused() throws {
        let scratch = Scratch()
        let rules = scratch.dir("volumes")
        let inside = scratch.dir("volumes/db")
        scratch.file("volumes/db/f")
        let outside = scratch.dir("elsewhere")
        scratch.file("elsewhere/g")
        let link = scratch.symlink("volumes/swapped", to: outside)

        _ = try Relabeler().relabel(inside, to: labelA, within: rules)
        #expect(label(inside + "/f") == labelA)

        let before = label(outside + "/g")
        #expect {
            _ = try Relabeler().relabel(link, to: labelA, within: rules)
        } throws: { error in
            (error as? RelabelError)?.description.contains("is outside \(rules)") ?? false
        }
        #expect(label(outside + "/g") == before)
        #expect(label(outside) != labelA)
    }

    @Test("the directory itself is inside its own rule")
    func ruleDirectoryItself() throws {
        let scratch = Scratch()
        let rules = scratch.dir("volumes")
        _ = try Relabeler().relabel(rules, to: labelA, within: rules)
        #expect(label(rules) == labelA)
    }
}
