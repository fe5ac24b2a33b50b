import Foundation
import Testing
@testable import SVirtSystem

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "svirt-system-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Files")
struct FilesTests {
    @Test("replaceAtomically swaps in the new content, keeps the old mode and leaves no temporary file")
    func atomicReplace() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        try Files.replaceAtomically(path, with: Array("new content".utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new content")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["config.json"])
    }

    @Test("replaceAtomically keeps the file's owner")
    func atomicReplaceKeepsOwner() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        #expect(chown(path, 1234, 2345) == 0)
        try Files.replaceAtomically(path, with: Array("new".utf8))
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_uid == 1234 && st.st_gid == 2345)
    }

    @Test("replaceAtomically on a symlink rewrites the file it names and leaves the link")
    func atomicReplaceThroughSymlink() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/elsewhere", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/elsewhere/real.json"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/config.json", withDestinationPath: "elsewhere/real.json")
        try Files.replaceAtomically(dir + "/config.json", with: Array("new".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/config.json") == "elsewhere/real.json")
        #expect(try String(contentsOfFile: dir + "/elsewhere/real.json", encoding: .utf8) == "new")
    }

    @Test("a temporary file left by an earlier run with our pid does not block the rewrite")
    func staleTemporary() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        try Data("stale".utf8).write(to: URL(fileURLWithPath: dir + "/.config.json.svirt-\(getpid())"))
        try Files.replaceAtomically(path, with: Array("new".utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
    }

    @Test("replaceAtomically into a missing directory fails naming the path, and creates nothing")
    func atomicReplaceMissingDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: SystemError.self) {
            try Files.replaceAtomically(dir + "/nope/config.json", with: [1, 2, 3])
        }
        #expect(error?.errno == .noEntry)
        #expect(error?.description.contains("/nope") == true)
    }

    @Test("read refuses a file larger than the limit with EFBIG instead of loading it")
    func readLimit() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big"
        try Data(repeating: 0x41, count: 300_000).write(to: URL(fileURLWithPath: path))
        #expect(try Files.read(path, limit: 300_000).count == 300_000)
        let error = #expect(throws: SystemError.self) { try Files.read(path, limit: 299_999) }
        #expect(error?.errno == Errno(rawValue: EFBIG))
    }

    @Test("a failed call's description is one line with call, path and reason")
    func errorDescription() {
        let error = SystemError("open", path: "/x/y", errno: .noEntry)
        #expect(error.description == "open /x/y: No such file or directory")
    }

    @Test("syscall retries EINTR and reports other errnos")
    func syscallRetry() {
        var calls = 0
        let result = try? syscall("fake") { () -> Int32 in
            calls += 1
            if calls < 3 { errno = EINTR; return -1 }
            return 7
        }
        #expect(result == 7 && calls == 3)
        #expect(throws: SystemError("fake", errno: .accessDenied)) {
            try syscall("fake") { () -> Int32 in errno = EACCES; return -1 }
        }
    }
}

@Suite("Files.temporaryOwner")
struct TemporaryOwnerTests {
    @Test("parses the pid of replaceAtomically's temporaries, and nothing else",
          arguments: [(".config.json.svirt-123-9af", Optional<pid_t>(123)), (".a-b.svirt-7-0", 7),
                      ("config.json", nil), (".x.svirt-12", nil), (".x.svirt-abc-1f", nil),
                      (".x.svirt-12-", nil), (".x.svirt-12-zz", nil), (".x.other-12-1f", nil)])
    func parse(_ name: String, _ pid: pid_t?) {
        #expect(Files.temporaryOwner(name) == pid)
    }
}
