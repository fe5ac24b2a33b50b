import SVirtSELinux

/// `svirt-hook relabel`: what to label and with which label, from its
/// command line. The label comes out as the hook would give the volume,
/// so that a tree labeled ahead of time carries exactly the label (and
/// the stamp) the next container start checks for.
public struct RelabelCommandOptions: Equatable, Sendable {
    public enum Target: Equatable, Sendable {
        /// `--shared`: a `z` volume's label (the file type at s0).
        case shared
        /// `--level L`: a `Z` volume's label for a container at L.
        case level(MCSLevel)
        /// `--label CONTEXT`: exactly that.
        case label(SecurityContext)
    }

    public var target: Target
    public var directories: [String]
    /// lxc_contexts to take the file type from (`--shared`, `--level`).
    public var contextsFile: String?
    /// Read every entry, not trusting the tree's stamp.
    public var fullRelabel = false

    public init(target: Target, directories: [String], contextsFile: String? = nil, fullRelabel: Bool = false) {
        self.target = target
        self.directories = directories
        self.contextsFile = contextsFile
        self.fullRelabel = fullRelabel
    }

    public static let usage = """
        usage: svirt-hook relabel (--shared | --level LEVEL | --label CONTEXT) [options] DIR...

        Labels each DIR and everything below it ahead of time, as the hook labels a
        z or Z volume (same walker, same refusals, same stamp), so that the next
        container start with that label only checks it.

          --shared           the label of a z volume: the container file type at s0
          --level LEVEL      the label of a Z volume for a container at LEVEL (s0:cA,cB)
          --label CONTEXT    exactly CONTEXT (user:role:type:level)
          --contexts FILE    lxc_contexts to take the file type from (--shared, --level)
          --full-relabel     read every entry's label, not trusting the tree's stamp
          --help             show this help

        On a terminal a progress line is redrawn on stderr; otherwise one summary
        line per DIR. Exit codes as for the hook: 2 usage, 4 bad label, 5 policy,
        7 relabel refused or failed.

        """

    /// nil for `--help`.
    public static func parse(_ words: [String]) throws(HookError) -> RelabelCommandOptions? {
        let args: Arguments
        do {
            args = try Arguments(words, valued: ["--level", "--label", "--contexts"],
                                 booleans: ["--shared", "--full-relabel", "--help"])
        } catch {
            throw HookError(.usage, error.description)
        }
        if args.has("--help") { return nil }
        let chosen = [args.has("--shared") ? "--shared" : nil,
                      args.value("--level").map { _ in "--level" }, args.value("--label").map { _ in "--label" }]
            .compactMap { $0 }
        guard chosen.count == 1 else {
            throw HookError(.usage, chosen.isEmpty ? "one of --shared, --level LEVEL or --label CONTEXT is required"
                                                   : "\(chosen.joined(separator: " and ")) exclude each other")
        }
        let target: Target
        if let text = args.value("--level") {
            guard let level = MCSLevel(text) else { throw HookError(.badLabel, "invalid level \(text) (e.g. s0:c1,c2)") }
            target = .level(level)
        } else if let text = args.value("--label") {
            guard let context = SecurityContext(text) else {
                throw HookError(.badLabel, "malformed SELinux context \(text) (user:role:type:level)")
            }
            target = .label(context)
        } else {
            target = .shared
        }
        if let file = args.value("--contexts") {
            if file.isEmpty { throw HookError(.usage, "--contexts needs a non-empty value") }
            if case .label = target { throw HookError(.usage, "--contexts applies to --shared and --level only") }
        }
        guard !args.positional.isEmpty else { throw HookError(.usage, "no DIR to relabel (see --help)") }
        if args.positional.contains("") { throw HookError(.usage, "an empty DIR") }
        return RelabelCommandOptions(target: target, directories: args.positional, contextsFile: args.value("--contexts"),
                                     fullRelabel: args.has("--full-relabel"))
    }

    /// The label: for `--shared` and `--level` built from lxc_contexts'
    /// file context and checked as the hook builds a container's mount
    /// label (a `z` volume's is that label at s0); `--label` checked by
    /// `validate` (the loaded policy's, nil when none can be asked).
    /// `policy` is loaded only when needed.
    public func label(policy: () throws(HookError) -> Policy,
                      validate: ((String) -> Bool)?) throws(HookError) -> String {
        let range: String
        switch target {
        case .label(let context):
            let text = context.description
            if let validate, !validate(text) {
                throw HookError(.badLabel, "label \"\(text)\" is not valid in the loaded policy")
            }
            return text
        case .shared: range = "s0"
        case .level(let level): range = level.description
        }
        let policy = try policy()
        let base = policy.contexts.file
        return try LabelDraft.generated(user: base.user, role: base.role, type: base.type, range: range, policy: policy,
                                        what: "volume label", typeSource: policy.naming("file"))
    }
}
