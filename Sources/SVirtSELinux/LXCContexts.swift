/// The container contexts a policy names in its `lxc_contexts` file
/// (`/etc/selinux/<policy>/contexts/lxc_contexts`):
///
///     process = "system_u:system_r:container_t:s0"
///     file = "system_u:object_r:container_file_t:s0"
///     ro_file = "system_u:object_r:container_ro_file_t:s0"
///
/// Parsed the way go-selinux reads it (key = value, quotes optional, `#` and
/// `;` comments) but strictly: a line that is not `key = value`, a
/// malformed context, or a missing `process`/`file` is an error naming the
/// line, because a silently wrong policy file would label every container wrong.
public struct LXCContexts: Equatable, Sendable {
    public var process: SecurityContext
    public var file: SecurityContext
    public var readOnlyFile: SecurityContext?
    public var content: SecurityContext?

    /// The types it names for containers (process, file, read-only file):
    /// those the loaded policy must define.
    public var containerTypes: [String] {
        [process.type, file.type, readOnlyFile?.type].compactMap { $0 }
    }

    public init(process: SecurityContext, file: SecurityContext,
                readOnlyFile: SecurityContext? = nil, content: SecurityContext? = nil) {
        self.process = process
        self.file = file
        self.readOnlyFile = readOnlyFile
        self.content = content
    }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let line: Int?
        public let message: String
        public var description: String {
            if let line { return "line \(line): \(message)" }
            return message
        }
    }

    /// Parses the file's text. `sandbox_*` keys (sandbox_kvm_process,
    /// sandbox_lxc_process, ...) and unknown keys are accepted and ignored,
    /// as policies add keys over time.
    public init(parsing text: String) throws(ParseError) {
        var process: SecurityContext?
        var file: SecurityContext?
        var readOnly: SecurityContext?
        var content: SecurityContext?
        var number = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            let line = Self.trim(rawLine)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: number, message: "expected key = \"context\", found \"\(line)\"")
            }
            let key = Self.trim(line[..<eq])
            var value = Self.trim(line[line.index(after: eq)...])
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = value.dropFirst().dropLast()
            }
            guard !key.isEmpty else { throw ParseError(line: number, message: "missing key before '='") }
            switch key {
            case "process", "file", "ro_file", "content":
                guard let context = SecurityContext(value) else {
                    throw ParseError(line: number, message: "\(key): malformed context \"\(value)\"")
                }
                switch key {
                case "process": process = context
                case "file": file = context
                case "ro_file": readOnly = context
                default: content = context
                }
            default:
                continue
            }
        }
        guard let process else { throw ParseError(line: nil, message: "no \"process\" context") }
        guard let file else { throw ParseError(line: nil, message: "no \"file\" context") }
        self.init(process: process, file: file, readOnlyFile: readOnly, content: content)
    }

    private static func trim(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
