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

    /// Seconds on CLOCK_MONOTONIC, for durations: a clock set back must
    /// not make one negative.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Whether process `pid` exists (EPERM means it does, owned by another user).
    public static func processExists(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}
