import Glibc
import SVirtSystem
import SVirtPaths

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

    public let refused: Set<FilePath>
    public let subtrees: [FilePath]

    public init(extraPaths: [FilePath] = [], subtrees: [String] = SystemPathPolicy.refusedSubtrees) {
        refused = Set((SystemPathPolicy.systemPaths.map { FilePath($0) } + extraPaths).map(\.normalized))
        self.subtrees = subtrees.map { FilePath($0).normalized }
    }

    /// The reason `path` (absolute, already resolved) is refused, or nil.
    public func refusal(for path: FilePath) -> String? {
        let path = path.normalized
        if refused.contains(path) { return "is a system path" }
        for top in subtrees where path.isInside(top) {
            return "is under \(top)"
        }
        return nil
    }

    public func refusal(for path: String) -> String? { refusal(for: FilePath(path)) }
}

/// The homes of whoever invoked us: the real uid's entry in the password
/// file, $HOME, and $SUDO_USER's, each also in resolved form.
///
/// /etc/passwd is read directly rather than through getpwuid(3): NSS loads
/// shared modules at run time, which a static binary cannot do safely. The
/// hook runs as root (home /root, refused anyway) or a local admin, so the
/// local file is the database that matters.
enum InvokingUserHomes {
    static func collect() -> [FilePath] {
        let users = PasswordFile.load()
        var homes: [String] = []
        let uid = UserNamespace.hostUID()
        if let home = users.first(where: { $0.uid == uid })?.home { homes.append(home) }
        if let home = getenv("HOME").map({ String(cString: $0) }), LexicalPath.isAbsolute(home) { homes.append(home) }
        if let user = getenv("SUDO_USER").map({ String(cString: $0) }), !user.isEmpty,
           let home = users.first(where: { $0.name == user })?.home {
            homes.append(home)
        }
        let named = homes.map { FilePath($0) }
        return named + named.compactMap { try? Files.realPath($0) }
    }
}

