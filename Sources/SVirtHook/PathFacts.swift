/// What the planner may learn about paths from the file system: two
/// questions, asked only when a plan needs them (admin relabel rules, a
/// containerd task's root). The CLI answers from the host; tests from a
/// table, so the planner stays a pure function of its inputs.
public struct PathFacts {
    /// realpath(3); nil when the path does not resolve.
    public var realPath: (String) -> String?
    /// For a mount point, the directory that outlives the mount: an overlay
    /// mount's upper directory (for containerd's snapshots, the snapshot
    /// directory holding it), a bind mount's source. nil when nothing is
    /// mounted there or it is neither.
    public var persistentSource: (String) -> String?

    public init(realPath: @escaping (String) -> String? = { _ in nil },
                persistentSource: @escaping (String) -> String? = { _ in nil }) {
        self.realPath = realPath
        self.persistentSource = persistentSource
    }

    /// Knows nothing: no rule matches, no task root is followed.
    public static var none: PathFacts { PathFacts() }
}
