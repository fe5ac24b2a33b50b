/// Per-container label options in podman's `--security-opt label=`
/// vocabulary: `disable`, `type:T`, `level:L`, `user:U`, `role:R`,
/// `filetype:F`, comma-separated.
///
/// Two spellings reach us. svirt-hook's own annotation `io.svirt.label`:
/// `type:spc_t,level:s0:c5,c6`. Podman's `io.podman.annotations.label`,
/// which joins repeated `--security-opt label=X` flags with `,label=`:
/// `type:spc_t,label=level:s0:c5,c6`. Both parse here. A level contains
/// commas itself, so a comma-separated piece that names no option
/// continues the preceding `level:` (`c6` above); anywhere else it is an
/// unknown option and an error naming it, as podman refuses it too.
public struct LabelOptions: Equatable, Sendable {
    public var disable = false
    public var user: String?
    public var role: String?
    public var type: String?
    public var level: String?
    public var fileType: String?

    public init() {}

    public var isEmpty: Bool { self == LabelOptions() }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The option names podman accepts (go-selinux's validOptions).
    public static let names = ["disable", "type", "level", "user", "role", "filetype"]

    public init(parsing text: String) throws(ParseError) {
        // (name, value) pairs in order; a later option overrides an earlier
        // one, as podman's map does.
        var options: [(name: String, value: String)] = []
        for rawPiece in text.split(separator: ",", omittingEmptySubsequences: false) {
            var piece = Substring(rawPiece)
            if piece.hasPrefix("label=") { piece = piece.dropFirst(6) }
            let name: Substring
            let value: Substring?
            if let colon = piece.firstIndex(of: ":") {
                name = piece[..<colon]
                value = piece[piece.index(after: colon)...]
            } else {
                name = piece
                value = nil
            }
            if name == "disable" && value == nil {
                options.append(("disable", ""))
                continue
            }
            // podman's `label=nested` leaves /sys/fs/selinux visible in the
            // container; it changes no label, so there is nothing to do.
            if name == "nested" && value == nil { continue }
            if let value, Self.names.contains(String(name)), name != "disable" {
                guard !value.isEmpty else { throw ParseError(description: "label option \"\(name)\" needs a value") }
                options.append((String(name), String(value)))
                continue
            }
            // A level's further categories: `level:s0:c5,c6` -> "c6", or a
            // range's `c0.c3`.
            if rawPiece == piece, let last = options.last, last.name == "level",
               Self.isCategoryText(piece) {
                options[options.count - 1].value += ",\(piece)"
                continue
            }
            if piece.isEmpty { throw ParseError(description: "empty label option in \"\(text)\"") }
            throw ParseError(description:
                "unknown label option \"\(piece)\" (valid: disable, type:T, level:L, user:U, role:R, filetype:F)")
        }
        for (name, value) in options {
            switch name {
            case "disable": disable = true
            case "type": type = try Self.checkedName(value, option: name)
            case "user": user = try Self.checkedName(value, option: name)
            case "role": role = try Self.checkedName(value, option: name)
            case "filetype": fileType = try Self.checkedName(value, option: name)
            default:
                guard SecurityContext.isRange(value) else {
                    throw ParseError(description: "label option level: \"\(value)\" is not an MLS level or range")
                }
                level = value
            }
        }
    }

    private static func checkedName(_ value: String, option: String) throws(ParseError) -> String {
        guard SecurityContext.isName(value) else {
            throw ParseError(description: "label option \(option): \"\(value)\" is not a valid SELinux name")
        }
        return value
    }

    /// `c5`, `c0.c3`, or a range's high part `s0:c1`: things a level's
    /// comma list continues with.
    private static func isCategoryText(_ piece: Substring) -> Bool {
        guard let first = piece.first, first == "c" else { return false }
        return piece.allSatisfy { $0 == "c" || $0 == "." || ($0.isASCII && $0.isNumber) }
    }
}
