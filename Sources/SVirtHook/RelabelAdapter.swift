import SVirtRelabel

/// SVirtRelabel's walker as the pipeline's relabeler: refusals (system
/// paths) and failures become exit code `relabel`; ENOTSUP/EROFS come back
/// as warnings, as the relabeler treats them as success.
public struct TreeRelabeler: MountRelabeler {
    public let relabeler: Relabeler

    public init(relabeler: Relabeler = Relabeler()) {
        self.relabeler = relabeler
    }

    /// `full`: read every entry, not trusting tree stamps (`--full-relabel`).
    public init(full: Bool) {
        var relabeler = Relabeler()
        relabeler.full = full
        self.relabeler = relabeler
    }

    public func relabel(source: String, label: String, within: String?) throws -> [String] {
        do {
            return try relabeler.relabel(source, to: label, within: within).warnings
        } catch {
            // The error names the path and the call already.
            throw HookError(.relabel, error.description)
        }
    }

    public func isComplete(source: String, label: String) -> Bool {
        relabeler.isComplete(source, label: label)
    }
}
