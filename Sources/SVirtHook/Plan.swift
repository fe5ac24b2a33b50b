import SVirtOCI
import SVirtSELinux

/// One tree to relabel: which request asked for it, the host path, the label.
public struct RelabelTarget: Equatable, Sendable {
    /// The mount's destination in the container, `/` for the root file system.
    public var destination: String
    public var source: String
    public var label: String
    public var mode: RelabelMode
    /// Set when an admin rule (`--relabel-source`), not the container,
    /// asked for it: the rule's directory, which the source must stay in.
    public var within: String?

    public init(destination: String, source: String, label: String, mode: RelabelMode, within: String? = nil) {
        self.destination = destination
        self.source = source
        self.label = label
        self.mode = mode
        self.within = within
    }
}

/// The pure result of the pipeline: what the config becomes and which
/// trees to relabel (Draft.plan). Apply is the only step with side effects.
public struct Plan: Sendable {
    /// The config to hand back (labels added, z/Z options stripped).
    public var config: OCIConfig
    /// Whether `config` differs from the input.
    public var configChanged: Bool
    /// `label=disable`: no labels, no relabeling.
    public var disabled: Bool
    /// The labels the container runs with (kept or generated); nil when it has none.
    public var processLabel: String?
    public var mountLabel: String?
    /// A level this run reserved (nil when the labels were the user's).
    public var reservedLevel: MCSLevel?
    /// Identity used for reservations, when one was needed and derivable.
    public var key: ContainerKey?
    public var relabels: [RelabelTarget]
    /// The container opted in to trusting a tree whose last relabel to its
    /// label finished (`io.svirt.relabel-skip-labeled`), at every stage.
    public var skipLabeled = false
    /// Lines for stderr and syslog about what was decided (an unlabeled
    /// privileged container).
    public var notices: [String] = []
}
