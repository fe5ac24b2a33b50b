import SVirtOCI
import SVirtSELinux
import SVirtPaths

/// How a tree is relabeled: `z` shared (the file type at `s0`, every
/// container may use it), `Z` private (the container's own file label).
public enum RelabelMode: String, Sendable, Equatable {
    case shared = "z"
    case `private` = "Z"

    public init?(option: String) {
        switch option {
        case "z": self = .shared
        case "Z": self = .private
        default: return nil
        }
    }
}

/// The hook's command-line settings that shape a plan.
public struct HookSettings: Sendable, Equatable {
    /// `--relabel-root z|Z`: relabel the root file system by default.
    public var relabelRoot: RelabelMode?
    /// The directory relative paths in the config (root.path, bind sources)
    /// are taken against: the bundle when known (state stages, `--bundle`),
    /// else the current directory for a piped config, as runc reads a
    /// config in its bundle directory.
    public var baseDirectory: String?
    /// `--privileged-type TYPE`: the process type for containers that are
    /// privileged or share the host's PID or IPC namespace, which are
    /// otherwise left unlabeled (HostAccess).
    public var privilegedType: String?

    /// `--relabel-source DIR=z|Z`: relabel bind mounts from these
    /// directories for engines that strip z/Z (Docker) and carry no
    /// annotations.
    public var sourceRules: [SourceRule]

    public init(relabelRoot: RelabelMode? = nil, baseDirectory: String? = nil, privilegedType: String? = nil,
                sourceRules: [SourceRule] = []) {
        self.relabelRoot = relabelRoot
        self.baseDirectory = baseDirectory
        self.privilegedType = privilegedType
        self.sourceRules = sourceRules
    }
}

/// An admin's relabel rule: bind mounts whose source resolves to
/// `directory` or below it are relabeled with `mode`, unless the container
/// asked for something itself (z/Z, `io.svirt.relabel`). Docker rewrites a
/// volume's options to `rbind,rprivate` and Docker before 24 has no
/// annotations, so without a rule a Docker user cannot reach the relabeler.
public struct SourceRule: Sendable, Equatable {
    public var directory: String
    public var mode: RelabelMode

    public init(directory: String, mode: RelabelMode) {
        self.directory = directory
        self.mode = mode
    }

    /// `DIR=z` or `DIR=Z`, DIR absolute and not `/` (a rule for every
    /// directory is no rule: each system path would then be refused at
    /// every start instead of once here).
    public init(parsing text: String) throws(HookError) {
        guard let eq = text.utf8.lastIndex(of: UInt8(ascii: "=")) else {
            throw HookError(.usage, "--relabel-source must be DIR=z or DIR=Z, not \(text)")
        }
        let dir = String(text[..<eq]), option = String(text[text.index(after: eq)...])
        guard let mode = RelabelMode(option: option) else {
            throw HookError(.usage, "--relabel-source \(text): the mode must be z or Z, not \(option)")
        }
        guard LexicalPath.isAbsolute(dir) else { throw HookError(.usage, "--relabel-source \(text): \(dir) is not an absolute path") }
        let normal = LexicalPath.normalize(dir)
        guard normal != "/" else { throw HookError(.usage, "--relabel-source \(text): / would name every source") }
        self.init(directory: normal, mode: mode)
    }
}

/// What the container asks for, from its annotations.
public struct Request: Sendable, Equatable {
    public static let labelAnnotation = "io.svirt.label"
    public static let podmanLabelAnnotation = "io.podman.annotations.label"
    public static let relabelAnnotation = "io.svirt.relabel"
    /// Opt-in: trust a tree whose root already carries its label (a
    /// finished earlier walk) instead of checking every entry. CRI-O's
    /// annotation for the same trade-off is honored too.
    public static let skipLabeledAnnotation = "io.svirt.relabel-skip-labeled"
    public static let crioSkipLabeledAnnotation = "io.kubernetes.cri-o.TrySkipVolumeSELinuxLabel"

    public var options: LabelOptions
    /// `io.svirt.relabel` entries: destination in the container (normalized;
    /// `/` is the root file system) and mode, in order.
    public var relabels: [(destination: String, mode: RelabelMode)]
    /// `io.svirt.relabel-skip-labeled=true`: skip trees whose last relabel to their label finished.
    public var skipLabeled = false

    public static func == (a: Request, b: Request) -> Bool {
        a.options == b.options && a.relabels.elementsEqual(b.relabels, by: { $0 == $1 }) && a.skipLabeled == b.skipLabeled
    }

    /// Reads the annotations. Podman's label annotation is read first and
    /// `io.svirt.label` after it, so an option given in both takes svirt's value.
    public init(annotations: [(key: String, value: String)]) throws(HookError) {
        var options = LabelOptions()
        var relabels: [(String, RelabelMode)] = []
        func last(_ key: String) -> String? { annotations.last(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value }
        for key in [Self.podmanLabelAnnotation, Self.labelAnnotation] {
            guard let text = last(key) else { continue }
            let parsed: LabelOptions
            do { parsed = try LabelOptions(parsing: text) } catch {
                throw HookError(.badLabel, "annotation \(key): \(error)")
            }
            options.merge(parsed)
        }
        // label=disable asks for no relabeling either: its request is not read.
        if !options.disable, let text = last(Self.relabelAnnotation) {
            relabels = try Self.parseRelabels(text)
        }
        var skip = false
        for key in [Self.crioSkipLabeledAnnotation, Self.skipLabeledAnnotation] {
            guard let text = last(key) else { continue }
            switch text {
            case "true": skip = true
            case "false": skip = false
            default: throw HookError(.badInput, "annotation \(key): \"\(text)\" is not true or false")
            }
        }
        self.options = options
        self.relabels = relabels
        self.skipLabeled = skip
    }

    /// `DEST:z,DEST:Z,/:Z`. Destinations are absolute container paths; the
    /// mode follows the last colon.
    static func parseRelabels(_ text: String) throws(HookError) -> [(destination: String, mode: RelabelMode)] {
        var out: [(String, RelabelMode)] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = entry.lastIndex(of: ":"),
                  let mode = RelabelMode(option: String(entry[entry.index(after: colon)...])) else {
                throw HookError(.badInput, "annotation \(relabelAnnotation): entry \"\(entry)\" is not DESTINATION:z or DESTINATION:Z")
            }
            let destination = String(entry[..<colon])
            guard LexicalPath.isAbsolute(destination) else {
                throw HookError(.badInput, "annotation \(relabelAnnotation): destination \"\(destination)\" is not an absolute path")
            }
            out.append((LexicalPath.normalize(destination), mode))
        }
        return out
    }
}

extension LabelOptions {
    /// Takes every option `other` sets.
    mutating func merge(_ other: LabelOptions) {
        if other.disable { disable = true }
        if let v = other.user { user = v }
        if let v = other.role { role = v }
        if let v = other.type { type = v }
        if let v = other.level { level = v }
        if let v = other.fileType { fileType = v }
    }
}
