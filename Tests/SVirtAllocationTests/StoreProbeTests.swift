import Foundation
import Testing
@testable import SVirtAllocation

@Suite("StoreProbe: can a directory hold a store")
struct StoreProbeTests {
    @Test("a local temporary directory passes, is named by its file system, and keeps no scratch file")
    func localDirectoryPasses() throws {
        let dir = try StateDir()
        let probe = StoreProbe.probe(dir.path)
        #expect(probe.problem == nil)
        #expect(StoreProbe.local.values.contains(probe.fileSystem), "\(probe.fileSystem)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("tmpfs is recognised as local (a --state-dir under /run is the documented remedy)")
    func tmpfsIsLocal() throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/shm"))
        #expect(StoreProbe.probe("/dev/shm").fileSystem == "tmpfs")
    }

    @Test("a missing directory reports statfs's errno, not a pass")
    func missingDirectory() {
        let probe = StoreProbe.probe("/nonexistent-\(UUID().uuidString)")
        #expect(probe.problem?.hasPrefix("statfs: ") == true)
    }

    @Test("a regular file in place of the directory is not writable as a store")
    func fileInsteadOfDirectory() throws {
        let dir = try StateDir()
        let file = dir.path + "/f"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let probe = StoreProbe.probe(file)
        #expect(probe.problem?.hasPrefix("not writable: ") == true)
    }
}
