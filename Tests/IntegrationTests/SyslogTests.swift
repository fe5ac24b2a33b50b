import Foundation
import Testing

/// podman discards a precreate hook's stderr, so failures must reach syslog
/// too. With no log daemon on the machine, the test plays one: it binds
/// /dev/log itself and reads what the hook sends.
@Suite("Failures reach syslog")
struct SyslogTests {
    @Test("a failing run sends one error record naming svirt-hook and the reason to /dev/log")
    func failureIsLogged() throws {
        guard !FileManager.default.fileExists(atPath: "/dev/log") else {
            print("SKIPPED failureIsLogged: /dev/log belongs to a running log daemon")
            return
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink("/dev/log")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            _ = "/dev/log".utf8CString.withUnsafeBytes { raw.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0, "bind /dev/log: errno \(errno)")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let marker = "/nonexistent/svirt-syslog-\(UUID().uuidString)"
        let result = try hook(["--selinux=on", "--bundle", marker])
        #expect(result.status == 8)
        #expect(result.stderrLines.count == 1)

        // Other tests' hooks may log meanwhile: read until ours arrives.
        var record: String?
        var buffer = [UInt8](repeating: 0, count: 4096)
        while record == nil {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            if text.contains(marker) { record = text }
        }
        let line = try #require(record, "no syslog record mentioning \(marker) within 5 s")
        // <11>: facility user (8) + priority error (3).
        #expect(line.hasPrefix("<11>"), "\(line)")
        #expect(line.contains("svirt-hook["), "\(line)")
        #expect(line.contains("No such file or directory"), "\(line)")
    }
}
