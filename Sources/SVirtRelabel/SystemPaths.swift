#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which resolved sources may never be relabeled.
///
/// Same list and exact-match semantics as go-selinux `label.Relabel`
/// (podman, CRI-O): `/var/lib` is refused, `/var/lib/mydata` is allowed.
/// Like go-selinux's `badPrefix`, everything under /usr is refused too, but
/// by whole path components (/usr2 is allowed, go-selinux refuses it).
/// Unlike go-selinux, the check runs on the path after symlinks and `..` are
/// resolved, so `/srv/link -> /etc` and `/var/lib/../lib` are caught, and the
/// home directories come from the password database, not only $HOME.
public struct SystemPathPolicy: Sendable {
    public static let systemPaths: [String] = [
        "/", "/bin", "/boot", "/dev", "/etc", "/etc/passwd", "/etc/pki", "/etc/shadow",
        "/home", "/lib", "/lib64", "/media", "/opt", "/proc", "/root", "/run", "/sbin",
        "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/log",
    ]
    public static let refusedSubtrees: [String] = ["/usr"]

    public let refused: Set<String>
    public let subtrees: [String]

    public init(extraPaths: [String] = [], subtrees: [String] = SystemPathPolicy.refusedSubtrees) {
        refused = Set((SystemPathPolicy.systemPaths + extraPaths).map(SystemPathPolicy.normalize))
        self.subtrees = subtrees.map(SystemPathPolicy.normalize)
    }

    /// The reason `path` (absolute, already resolved) is refused, or nil.
    public func refusal(for path: String) -> String? {
        let path = SystemPathPolicy.normalize(path)
        if refused.contains(path) { return "is a system path" }
        for top in subtrees where SystemPathPolicy.isInside(path, top) {
            return "is under \(top)"
        }
        return nil
    }

    /// Drops trailing and repeated slashes; keeps "/" for the root.
    public static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is `top` or below it, by whole components.
    public static func isInside(_ path: String, _ top: String) -> Bool {
        let path = normalize(path), top = normalize(top)
        if top == "/" || path == top { return true }
        return path.hasPrefix(top + "/")
    }
}

/// The homes of whoever invoked us: the real uid's entry in the password
/// database, $HOME, and $SUDO_USER's, each also in resolved form.
enum InvokingUserHomes {
    static func collect() -> [String] {
        var homes: [String] = []
        if let home = passwordHome(uid: getuid()) { homes.append(home) }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") { homes.append(home) }
        if let user = getenv("SUDO_USER").map({ String(cString: $0) }), !user.isEmpty,
           let home = passwordHome(name: user) {
            homes.append(home)
        }
        return homes + homes.compactMap(resolve)
    }

    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func passwordHome(uid: uid_t) -> String? {
        withPasswd { entry, buffer, size, result in getpwuid_r(uid, entry, buffer, size, result) }
    }

    private static func passwordHome(name: String) -> String? {
        withPasswd { entry, buffer, size, result in getpwnam_r(name, entry, buffer, size, result) }
    }

    private static func withPasswd(
        _ lookup: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int,
                   UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> Int32
    ) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var size = 4096
        while size <= 1 << 20 {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let status = lookup(&entry, buffer, size, &result)
            if status == ERANGE { size *= 4; continue }
            guard status == 0, result != nil, let dir = entry.pw_dir else { return nil }
            let home = String(cString: dir)
            return home.hasPrefix("/") ? home : nil
        }
        return nil
    }
}
