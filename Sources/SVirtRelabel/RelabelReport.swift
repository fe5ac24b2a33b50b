import Glibc
import SVirtSystem

/// What a relabel did. `visited` counts every entry examined (the root
/// included), `changed` those whose label was written.
public struct RelabelReport: Sendable, Equatable {
    public var visited: Int
    public var changed: Int
    /// Entries of directories unchanged since the tree's stamp: trusted,
    /// not read (see TreeStamp). Not counted in `visited`.
    public var unread: Int
    /// Non-fatal: mount points not crossed, a file system that cannot hold
    /// labels (ENOTSUP) or is read-only (EROFS).
    public var warnings: [String]
    /// The threads a walk ran on, the main one included (the most of any
    /// pass): what the bench and the TSan run rely on being more than one.
    public var threads: Int

    public init(visited: Int = 0, changed: Int = 0, unread: Int = 0, warnings: [String] = [], threads: Int = 1) {
        self.visited = visited
        self.changed = changed
        self.unread = unread
        self.warnings = warnings
        self.threads = threads
    }

    /// Two reports of the same outcome are equal, on however many threads.
    public static func == (a: RelabelReport, b: RelabelReport) -> Bool {
        a.visited == b.visited && a.changed == b.changed && a.unread == b.unread && a.warnings == b.warnings
    }

    static func += (a: inout RelabelReport, b: RelabelReport) {
        a.visited += b.visited
        a.changed += b.changed
        a.unread += b.unread
        a.warnings += b.warnings
        a.threads = max(a.threads, b.threads)
    }
}

/// A relabel that was refused or could not complete: one line, naming the
/// path and, for a failed system call, the call and errno.
public enum RelabelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not started: a system path, a home, an unidentifiable mount, a bad label.
    case refused(_ path: String, _ reason: String)
    /// A system call failed on `path`.
    case failed(_ path: String, _ call: String, errno: Errno)
    /// A relabel lock stayed held longer than the relabel waits (see TreeLock).
    case lockTimedOut(_ path: String, lock: String, holder: String, seconds: Double)

    public var path: String {
        switch self {
        case .refused(let path, _), .failed(let path, _, _), .lockTimedOut(let path, _, _, _): path
        }
    }

    public var errno: Errno? {
        switch self {
        case .refused: nil
        case .failed(_, _, let errno): errno
        case .lockTimedOut: .timedOut
        }
    }

    /// Why the path was refused, nil for a failure.
    public var refusal: String? {
        if case .refused(_, let reason) = self { return reason }
        return nil
    }

    /// The same error, about `path` instead (an entry's error reported
    /// before its path was known).
    func at(_ path: String) -> RelabelError {
        switch self {
        case .refused(_, let reason): .refused(path, reason)
        case .failed(_, let call, let errno): .failed(path, call, errno: errno)
        case .lockTimedOut(_, let lock, let holder, let seconds): .lockTimedOut(path, lock: lock, holder: holder, seconds: seconds)
        }
    }

    public var description: String {
        switch self {
        case .refused(let path, let reason):
            return "relabel of \(path) refused: \(reason)"
        case .failed(let path, let call, let errno):
            return "relabel \(path): \(call): \(errno) (errno \(errno.rawValue))"
        case .lockTimedOut(let path, let lock, let holder, let seconds):
            let time = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            return "relabel \(path): relabel lock '\(lock)' still held by \(holder) after \(time) s (ETIMEDOUT)"
        }
    }
}
