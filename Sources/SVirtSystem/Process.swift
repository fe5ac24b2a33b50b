import Glibc

/// Facts about this process and its environment, read at the edge so the
/// logic below can take them as plain values.
public enum ProcessInfo {
    public static var arguments: [String] { CommandLine.arguments }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    public static func writeError(_ line: String) {
        let text = line.hasSuffix("\n") ? line : line + "\n"
        try? FileDescriptor.standardError.writeAll(Array(text.utf8))
    }

    /// isatty(3): whether output there is seen by a person, who can be
    /// shown a line redrawn in place.
    public static func isTerminal(_ fd: FileDescriptor) -> Bool {
        isatty(fd.rawValue) == 1
    }

    /// Nanoseconds on CLOCK_MONOTONIC, for durations and deadlines: a
    /// clock set back must neither make one negative nor stall one.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The same clock in seconds.
    public static func monotonicSeconds() -> Double {
        Double(monotonicNanoseconds()) / 1e9
    }

    public static var processID: Int32 { getpid() }
    public static var effectiveUserID: UInt32 { geteuid() }

    /// usleep(3): a short pause between polls of something with no wait
    /// of its own.
    public static func sleep(microseconds: UInt32) {
        usleep(microseconds)
    }

    /// execv(2): becomes `program` with `arguments` (argv[1...]); returns
    /// only when it could not, with why. ETXTBSY (a binary just written,
    /// still open for writing in a process forked meanwhile) passes within
    /// milliseconds, so it is retried briefly first.
    public static func execute(_ program: String, _ arguments: [String]) -> Errno {
        var argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for arg in argv { free(arg) } }
        var attempts = 0
        while true {
            execv(program, argv)
            let reason = Errno.current
            guard reason == Errno(rawValue: ETXTBSY), attempts < 20 else { return reason }
            attempts += 1
            usleep(10_000)
        }
    }

    /// The current UTC time as RFC 3339 to the second (`2026-12-04T05:06:07Z`).
    public static func utcTimestamp() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// CLOCK_REALTIME, as file times are kept.
    public static func realTime() -> FileTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return FileTime(seconds: Int64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec))
    }

    /// Online processors, at least 1.
    public static func onlineProcessors() -> Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Whether process `pid` exists (EPERM means it does, owned by another user).
    public static func processExists(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}
