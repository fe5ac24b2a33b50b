#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
}
