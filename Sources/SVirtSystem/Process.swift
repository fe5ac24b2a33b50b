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

    /// Whether process `pid` exists (EPERM means it does, owned by another user).
    public static func processExists(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}
