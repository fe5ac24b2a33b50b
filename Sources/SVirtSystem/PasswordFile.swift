import Glibc

/// The local password file, read directly rather than through getpwuid(3):
/// NSS loads shared modules at run time, which a static binary cannot do
/// safely, and the hook runs with an empty environment (podman passes no
/// HOME), so the uid is all it has to find a user's home by.
///
/// Entries of a passwd(5) file: `name:password:uid:gid:gecos:home:shell`.
public struct PasswordFile {
    public struct User: Equatable, Sendable {
        public let name: String
        public let uid: uid_t
        public let home: String
        public init(name: String, uid: uid_t, home: String) { self.name = name; self.uid = uid; self.home = home }
    }

    public static func load(_ path: String = "/etc/passwd") -> [User] {
        guard let bytes = try? Files.read(path, limit: 16 << 20) else { return [] }
        return parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Lines that are not seven fields with a numeric uid and an absolute
    /// home are skipped (comments, NIS `+` lines). Split as bytes, like the
    /// paths (see SystemPathPolicy): a ":" or "/" followed by a combining
    /// mark is one Swift Character, and would hide a user's home.
    public static func parse(_ text: String) -> [User] {
        text.utf8.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count == 7, let uid = uid_t(String(decoding: fields[2], as: UTF8.self)),
                  fields[5].first == UInt8(ascii: "/") else { return nil }
            return User(name: String(decoding: fields[0], as: UTF8.self), uid: uid,
                        home: String(decoding: fields[5], as: UTF8.self))
        }
    }
}
