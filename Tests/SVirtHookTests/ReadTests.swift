import Foundation
import Testing
import SVirtSystem

@Suite("FileDescriptor.readToEnd")
struct ReadTests {
    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("reads regular files of any size whole, including empty ones", arguments: [0, 1, 4095, 4096, 70_000])
    func regular(size: Int) throws {
        let path = NSTemporaryDirectory() + "svirt-read-\(getpid())-\(size)"
        let data = Self.pattern(size)
        FileManager.default.createFile(atPath: path, contents: Data(data))
        defer { unlink(path) }
        #expect(try Files.readCompact(path, limit: 1 << 20) == data)
    }

    @Test("reads a pipe past its initial 16 KiB buffer")
    func pipeGrows() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let data = Self.pattern(50_000)
        let out = fds[1]
        let writer = Thread {
            data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count { off += write(out, raw.baseAddress! + off, raw.count - off) }
            }
            close(out)
        }
        writer.start()
        let got = try FileDescriptor(rawValue: fds[0]).readToEnd(limit: 1 << 20)
        close(fds[0])
        #expect(got == data)
    }

    @Test("input over the limit fails with EFBIG, from a file and from a pipe")
    func limit() throws {
        let path = NSTemporaryDirectory() + "svirt-read-limit-\(getpid())"
        FileManager.default.createFile(atPath: path, contents: Data(Self.pattern(5000)))
        defer { unlink(path) }
        #expect(throws: SystemError("read", path: path, errno: Errno(rawValue: EFBIG))) {
            try Files.readCompact(path, limit: 4999)
        }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let data = Self.pattern(40_000)
        let out = fds[1]
        let writer = Thread {
            data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(out, raw.baseAddress! + off, raw.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            close(out)
        }
        writer.start()
        #expect(throws: SystemError("read", errno: Errno(rawValue: EFBIG))) {
            try FileDescriptor(rawValue: fds[0]).readToEnd(limit: 20_000)
        }
        close(fds[0])
    }
}
