import SVirtJSON

/// One hooks.d file (containers/common pkg/hooks, version 1.0.0): what
/// `doctor` needs of it.
public struct HookRegistration: Equatable, Sendable {
    public var file: String
    public var path: String
    public var arguments: [String]
    public var stages: [String]

    /// nil when the bytes are not a hooks.d file at all; engines skip such
    /// files too (podman logs and ignores them).
    public init?(file: String, bytes: [UInt8]) {
        guard let value = try? JSON.parse(bytes), case .object(let top) = value,
              case .object(let hook)? = top["hook"], case .string(let path)? = hook["path"],
              case .array(let stages)? = top["stages"] else { return nil }
        self.file = file
        self.path = path
        if case .array(let args)? = hook["args"] {
            arguments = args.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        } else {
            arguments = []
        }
        self.stages = stages.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    public init(file: String, path: String, arguments: [String], stages: [String]) {
        self.file = file
        self.path = path
        self.arguments = arguments
        self.stages = stages
    }

    /// Whether it runs svirt-hook (by the executable's name: the path is
    /// wherever the admin installed it).
    public var isSVirtHook: Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name == "svirt-hook"
    }

    /// The value of `--name VALUE` or `--name=VALUE` in the arguments (the
    /// last one wins, as in the hook's own parser); nil when absent.
    public func option(_ name: String) -> String? {
        var found: String?
        var i = 1 // args[0] is the program name
        while i < arguments.count {
            let word = arguments[i]
            if word == name, i + 1 < arguments.count {
                found = arguments[i + 1]
                i += 2
                continue
            }
            if word.hasPrefix(name + "=") { found = String(word.dropFirst(name.count + 1)) }
            i += 1
        }
        return found
    }
}
