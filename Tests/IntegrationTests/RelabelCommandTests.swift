import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `svirt-hook relabel` on a real tree, then the hook on a container using
/// it: the start finds the labels and the stamp and writes nothing.
@Suite("svirt-hook relabel: a volume labeled ahead of time", .serialized)
struct RelabelCommandTests {
    static let level = "s0:c1,c2"
    static let volumeLabel = filePrefix + ":" + level

    /// 20 directories of 100 files: 2,021 entries with the root.
    static func makeTree(_ dir: TemporaryDirectory) throws -> String {
        let volume = dir.file("volume")
        for d in 0..<20 {
            try FileManager.default.createDirectory(atPath: volume + "/d\(d)", withIntermediateDirectories: true)
            for f in 0..<100 {
                #expect(FileManager.default.createFile(atPath: volume + "/d\(d)/f\(f)", contents: Data("x".utf8)))
            }
        }
        return volume
    }

    @Test("--level labels 2,000 files with the Z label and a stamp; a repeat says the stamp matches; the next start at that level rewrites nothing",
          .enabled(if: Tool.missing(["getfattr"], root: true) == nil))
    func preLabelThenStart() throws {
        let dir = try TemporaryDirectory(prefix: "prelabel")
        let volume = try Self.makeTree(dir)
        let command = ["relabel", "--level", Self.level, "--contexts", Paths.contexts, volume]

        let (first, firstSeconds) = try timed { try hook(command) }
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.isEmpty, "no terminal: no progress line, \(first.stderr)")
        #expect(first.stdoutText.hasPrefix("labeled \(volume) \(Self.volumeLabel): 2021 entries, 2021 changed, "),
                "\(first.stdoutText)")
        #expect(first.stdoutText.hasSuffix(" entries/s\n") && first.stdoutText.split(separator: "\n").count == 1)
        let found = labelsBelow(volume)
        #expect(found.count == 2021)
        #expect(found.values.allSatisfy { $0 == Self.volumeLabel }, "\(Set(found.values))")
        let stamp = try run(Tool.path("getfattr")!, ["--only-values", "-n", "trusted.svirt.relabel", volume])
        #expect(stamp.stdoutText.hasPrefix("1 ") && stamp.stdoutText.hasSuffix(" " + Self.volumeLabel), "\(stamp.stdoutText)")

        let (repeated, repeatSeconds) = try timed { try hook(command) }
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(repeated.stdoutText.hasPrefix("already labeled \(volume) \(Self.volumeLabel) (stamp matches): 2021 entries, 0 changed, "),
                "\(repeated.stdoutText)")
        print("relabel --level of 2,021 entries: first \(firstSeconds) s, repeat \(repeatSeconds) s (process start included)")

        // Every label write sets the entry's ctime: none that moves, none written.
        let before = ctimesBelow(volume)
        let config = #"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},"annotations":{"io.svirt.label":"level:\#(Self.level)","io.svirt.relabel":"/data:Z"},"mounts":[{"destination":"/data","type":"bind","source":"\#(volume)","options":["rbind"]}]}"#
        let (start, startSeconds) = try timed {
            try hook(labelFlags + ["--no-reserve", "--stage", "precreate"], stdin: Data(config.utf8))
        }
        #expect(start.status == 0, "\(start.stderr)")
        let labeled = try jsonObject(start.stdout)
        #expect(labeled[path: "linux", "mountLabel"] as? String == Self.volumeLabel)
        #expect(ctimesBelow(volume) == before, "the start wrote labels under the volume")
        #expect(labelsBelow(volume).values.allSatisfy { $0 == Self.volumeLabel })
        let after = try run(Tool.path("getfattr")!, ["--only-values", "-n", "trusted.svirt.relabel", volume])
        #expect(after.stdoutText.hasSuffix(" " + Self.volumeLabel), "the start left the stamp: \(after.stdoutText)")
        print("hook start (precreate) with the pre-labeled Z volume: \(startSeconds) s")
    }

    @Test("a system path is refused with the hook's relabel code 7, one line prefixed svirt-hook relabel:",
          .enabled(if: Tool.missing([]) == nil))
    func refusal() throws {
        let result = try hook(["relabel", "--label", "system_u:object_r:container_file_t:s0", "/etc"])
        #expect(result.status == 7)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("svirt-hook relabel: "), "\(result.stderr)")
        #expect(result.stderr.contains("/etc"))
    }

    @Test("usage errors are exit 2, one line; --help lists every flag", .enabled(if: Tool.missing([]) == nil))
    func usage() throws {
        for words in [["relabel"], ["relabel", "--shared", "--level", Self.level, "/tmp"], ["relabel", "--shared"]] {
            let result = try hook(words)
            #expect(result.status == 2, "\(words): \(result.stderr)")
            #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("svirt-hook relabel: "), "\(result.stderr)")
        }
        let help = try hook(["relabel", "--help"])
        #expect(help.status == 0)
        for flag in ["--shared", "--level", "--label", "--contexts", "--full-relabel", "--help"] {
            #expect(help.stdoutText.contains(flag), "--help lacks \(flag)")
        }
    }
}

/// Seconds a body took, to two decimals.
private func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = Date()
    let value = try body()
    return (value, (Date().timeIntervalSince(start) * 100).rounded() / 100)
}

/// Every entry's label below (and at) `root`, read by one getfattr -R.
private func labelsBelow(_ root: String) -> [String: String] {
    guard let result = try? run(Tool.path("getfattr")!, ["-R", "-h", "-P", "--absolute-names", "-n", "security.selinux",
                                                          "-e", "text", root]) else { return [:] }
    var labels: [String: String] = [:]
    var current: String?
    for line in result.stdoutText.split(separator: "\n") {
        if line.hasPrefix("# file: ") {
            current = String(line.dropFirst("# file: ".count))
        } else if line.hasPrefix("security.selinux=\""), let file = current {
            var value = line.dropFirst("security.selinux=\"".count).dropLast()
            if value.hasSuffix("\\000") { value = value.dropLast(4) }
            labels[file] = String(value)
        }
    }
    return labels
}

/// The ctime of every entry below `root` (not the root: a read-only walk
/// renews the stamp there).
private func ctimesBelow(_ root: String) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    let enumerator = FileManager.default.enumerator(atPath: root)!
    while let relative = enumerator.nextObject() as? String {
        var st = stat()
        guard lstat(root + "/" + relative, &st) == 0 else { continue }
        result[relative] = [st.st_ctim.tv_sec, st.st_ctim.tv_nsec]
    }
    return result
}
