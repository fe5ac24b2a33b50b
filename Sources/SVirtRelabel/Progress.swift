import Glibc
import SVirtSystem
import Synchronization

/// A relabel's counts so far, for a progress line. Counts only: a report
/// names no entry, so making one costs nothing per entry.
public struct RelabelProgress: Sendable, Equatable {
    /// Entries whose label was read (and maybe written), as in RelabelReport.
    public var visited: Int
    public var changed: Int
    /// Entries trusted by the tree's stamp without being read.
    public var unread: Int
    /// Seconds since the relabel began.
    public var elapsed: Double
    /// How many entries the tree holds, when that is known without walking
    /// it (see Relabeler.knownEntryCount); nil otherwise.
    public var total: Int?

    public init(visited: Int = 0, changed: Int = 0, unread: Int = 0, elapsed: Double = 0, total: Int? = nil) {
        self.visited = visited
        self.changed = changed
        self.unread = unread
        self.elapsed = elapsed
        self.total = total
    }

    /// Entries the walk is past, read or trusted.
    public var done: Int { visited + unread }
}

/// Told a relabel's counts while it runs, at most once per `interval`
/// seconds. `report` runs on whichever walker thread notices the interval
/// is over, never on two at once, and the walk waits for it: it must be
/// quick (a write to stderr or syslog).
public struct RelabelObserver: Sendable {
    public var interval: Double
    /// Entries a walker thread counts before it adds them to the shared
    /// counts and looks at the clock: the hot path stays one increment
    /// and one compare per entry.
    public var batch: Int
    public var report: @Sendable (RelabelProgress) -> Void

    public init(interval: Double, batch: Int = 256, report: @escaping @Sendable (RelabelProgress) -> Void) {
        self.interval = interval
        self.batch = max(1, batch)
        self.report = report
    }
}

/// One relabel's counts, shared by its walker threads and by every pass
/// of it (a pass that stops to start over under the write lock keeps what
/// it counted: that work was done, and counts that go back would look
/// like a bug to whoever watches them).
final class ProgressTracker: Sendable {
    let observer: RelabelObserver
    let total: Int?
    private let start: UInt64
    private let intervalNanoseconds: UInt64
    private let visited = Atomic<Int>(0)
    private let changed = Atomic<Int>(0)
    private let unread = Atomic<Int>(0)
    private let nextReport: Atomic<UInt64>
    private let reporting = Atomic<Bool>(false)

    init(_ observer: RelabelObserver, total: Int?) {
        self.observer = observer
        self.total = total
        start = ProcessInfo.monotonicNanoseconds()
        intervalNanoseconds = observer.interval > 0 ? UInt64(observer.interval * 1e9) : 0
        nextReport = Atomic(start &+ intervalNanoseconds)
    }

    func add(visited v: Int, changed c: Int, unread u: Int) {
        if v != 0 { visited.add(v, ordering: .relaxed) }
        if c != 0 { changed.add(c, ordering: .relaxed) }
        if u != 0 { unread.add(u, ordering: .relaxed) }
        reportIfDue()
    }

    /// One reporter at a time: a thread that finds another reporting
    /// skips, as the counts it would show are about to be shown.
    private func reportIfDue() {
        guard ProcessInfo.monotonicNanoseconds() >= nextReport.load(ordering: .relaxed),
              reporting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { reporting.store(false, ordering: .releasing) }
        // Read again once alone: another reporter may have gone first, and
        // a time from before its report would make elapsed go back.
        let now = ProcessInfo.monotonicNanoseconds()
        guard now >= nextReport.load(ordering: .relaxed) else { return }
        nextReport.store(now &+ intervalNanoseconds, ordering: .relaxed)
        observer.report(snapshot(now))
    }

    func snapshot(_ now: UInt64 = ProcessInfo.monotonicNanoseconds()) -> RelabelProgress {
        RelabelProgress(visited: visited.load(ordering: .relaxed), changed: changed.load(ordering: .relaxed),
                        unread: unread.load(ordering: .relaxed),
                        elapsed: Double(now &- start) / 1e9, total: total)
    }
}
