import Glibc
import SVirtSELinux
import SVirtSystem

/// Levels of running processes, which count as taken: another labeler
/// (podman, libvirt) on the same host hands out levels svirt-hook never sees
/// in its store. Callers pass the result as `inUse`, and only when SELinux
/// is enabled (otherwise every process reads `kernel` or nothing).
public enum RunningLevels {
    /// Reads `/proc/<pid>/attr/current` of every process. Processes that
    /// exit meanwhile or cannot be read are skipped: the scan is advisory.
    public static func scan() -> Set<MCSLevel> {
        scan(proc: "/proc")
    }

    static func scan(proc: String) -> Set<MCSLevel> {
        var levels: Set<MCSLevel> = []
        guard let pids = try? Files.entries(proc) else { return levels }
        for pid in pids where pid.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let bytes = try? Files.readSmall("\(proc)/\(pid)/attr/current") else { continue }
            levels.formUnion(levelsOf(context: bytes))
        }
        return levels
    }

    /// The level(s) of a raw context `user:role:type:level[-level]`, with the
    /// kernel's trailing NUL/newline. Only levels with categories matter for
    /// collisions; `s0` alone is dropped. Malformed text gives nothing.
    public static func levelsOf(context bytes: [UInt8]) -> [MCSLevel] {
        var trimmed = bytes[...]
        while let last = trimmed.last, last == 0 || last == 10 { trimmed = trimmed.dropLast() }
        guard let text = String(validating: Array(trimmed), as: UTF8.self) else { return [] }
        let fields = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4 else { return [] }
        return fields[3].split(separator: "-", omittingEmptySubsequences: false).compactMap { part in
            guard let level = MCSLevel(part), !level.categories.isEmpty else { return nil }
            return level
        }
    }
}
