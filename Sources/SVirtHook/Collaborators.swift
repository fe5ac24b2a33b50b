import SVirtSELinux

/// Who a container is, for reservations: the same container must get the
/// same level at every start, and the containers of one pod share one.
public struct ContainerKey: Hashable, Sendable, CustomStringConvertible {
    /// `sandbox:<pod sandbox id>` or `root:<absolute root path>`.
    public var key: String
    /// The path whose existence means the container exists (its root file
    /// system, or for overlay the layer directory above it), absolute,
    /// when known: the reservation store uses it to tell whether the
    /// container is gone.
    public var rootPath: String?
    /// Who the container is, for `svirt-hook list` (ContainerHolder).
    public var holder: String?

    public init(key: String, rootPath: String?, holder: String? = nil) {
        self.key = key
        self.rootPath = rootPath
        self.holder = holder
    }

    public var description: String { key }
}

/// Hands out MCS levels. The reservation store (SVirtAllocation) is the
/// real one; `RandomLevelAllocator` serves `--no-reserve`; tests use doubles.
public protocol LevelAllocator {
    /// The level `key` holds, or a new two-category level from `range`
    /// that no other key holds. `key` is nil when the config names neither
    /// a root path nor a pod: an allocator that records levels must refuse.
    func level(for key: ContainerKey?, range: CategoryRange) throws -> MCSLevel
    /// Records a level the container already has (a user label or a
    /// `level:` option), so no generated level collides with it.
    /// Returns a warning when other containers hold the level too: they
    /// are not separated from each other.
    func claim(_ level: MCSLevel, for key: ContainerKey) throws -> String?
}

/// Relabels one bind-mount source tree (SVirtRelabel is the real one).
public protocol MountRelabeler {
    /// Gives `source` and everything below it `label`; returns warnings
    /// (e.g. a file system without label support) and throws when the
    /// tree could not be labeled. `within`: the source must resolve to
    /// that directory or below (a relabel an admin rule asked for).
    func relabel(source: String, label: String, within: String?) throws -> [String]
    /// Whether an earlier relabel of `source` to `label` ran to the end
    /// (the walker stamps a tree's root when a walk has finished).
    func isComplete(source: String, label: String) -> Bool
}

/// Called at `poststop`. A stopped container may start again and must get
/// its level back, so an implementation frees the reservation only when the
/// container is gone (e.g. its root path no longer exists); otherwise
/// `svirt-hook gc` frees it later.
public protocol ReservationRelease {
    /// Returns what it did, for the log ("released s0:c1,c2"), or nil.
    func containerStopped(_ key: ContainerKey) throws -> String?
}
