import SVirtHook
import SVirtRelabel

/// SVirtRelabel's walker as the pipeline's relabeler: refusals (system
/// paths) and failures become exit code `relabel`; ENOTSUP/EROFS come back
/// as warnings, as the relabeler treats them as success.
public struct TreeRelabeler: MountRelabeler {
    public let relabeler: Relabeler
    /// Where the progress of a long relabel goes (the hook: syslog), so a
    /// container start that waits on one shows why; nil: nowhere.
    public var progress: ProgressLog?

    /// A line every `interval` seconds while a relabel runs; one that
    /// ends sooner says nothing.
    public struct ProgressLog: Sendable {
        public var interval: Double
        public var batch: Int
        public var write: @Sendable (String) -> Void

        /// The hook's: a container start that waits more than this on a
        /// relabel is worth a line, and a line every 10 s does not flood.
        public static let hookInterval = 10.0

        public init(interval: Double = ProgressLog.hookInterval, batch: Int = 256,
                    write: @escaping @Sendable (String) -> Void) {
            self.interval = interval
            self.batch = batch
            self.write = write
        }
    }

    public init(relabeler: Relabeler = Relabeler(), progress: ProgressLog? = nil) {
        self.relabeler = relabeler
        self.progress = progress
    }

    /// `full`: read every entry, not trusting tree stamps (`--full-relabel`).
    public init(full: Bool, progress: ProgressLog? = nil) {
        var relabeler = Relabeler()
        relabeler.full = full
        self.init(relabeler: relabeler, progress: progress)
    }

    public func relabel(source: String, label: String, within: String?) throws -> [String] {
        var relabeler = self.relabeler
        if let progress {
            relabeler.observer = RelabelObserver(interval: progress.interval, batch: progress.batch) {
                progress.write(ProgressLine.hookLine(source, $0))
            }
        }
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
