import Glibc

/// Who a process is outside its user namespace. Rootless podman enters a
/// user namespace in which the user is uid 0 before it runs its hooks
/// (precreate in podman, the others in the runtime it starts there), so
/// getuid(2) says 0 to a hook that runs for an ordinary user: the uid that
/// names the user (their passwd entry, their home) is the one
/// /proc/self/uid_map maps 0 to.
public enum UserNamespace {
    /// The uid `uid` of this namespace is outside it, from a uid_map's
    /// lines (`inside outside count`); nil when no line maps it. The
    /// initial namespace's map is `0 0 4294967295`: every uid is itself.
    public static func outerUID(of uid: UInt32, uidMap: String) -> UInt32? {
        for line in uidMap.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 3, let inside = UInt32(f[0]), let outside = UInt32(f[1]),
                  let count = UInt32(f[2]) else { continue }
            if uid >= inside && UInt64(uid) < UInt64(inside) + UInt64(count) {
                return outside &+ (uid - inside)
            }
        }
        return nil
    }

    /// This process's real uid as the initial namespace knows it: getuid()
    /// mapped through /proc/self/uid_map (getuid() itself when the map
    /// cannot be read or does not map it).
    public static func hostUID() -> uid_t {
        let uid = getuid()
        guard let bytes = try? Files.read("/proc/self/uid_map", limit: 1 << 16),
              let outer = outerUID(of: uid, uidMap: String(decoding: bytes, as: UTF8.self)) else { return uid }
        return outer
    }
}
