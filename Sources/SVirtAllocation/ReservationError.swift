import SVirtSystem

/// Why the store could not give or change a reservation. One line, naming
/// the path and the errno where there is one; callers map every case to
/// exit code 6 (`ExitCode.reservation`).
public struct ReservationError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A system call on the state directory failed (unreadable,
        /// read-only file system, not a directory, disk full...).
        case io(SystemError)
        /// An entry in the state directory cannot be parsed.
        case corrupt(path: String)
        /// Every two-category level in the range is held or in use.
        case exhausted
        /// The key or level cannot be recorded (empty key, bad level text).
        case invalid
        /// `release`/lookup of something the store does not hold, or no
        /// store at all where one was opened with `create: false`.
        case notFound
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The description without its "reservation store: " prefix, for
    /// reports that already say where they come from.
    var detail: String {
        let prefix = "reservation store: "
        return description.hasPrefix(prefix) ? String(description.dropFirst(prefix.count)) : description
    }

    static func io(_ error: SystemError) -> ReservationError {
        ReservationError(.io(error), "reservation store: \(error) (errno \(error.errno.rawValue))")
    }

    static func corrupt(_ path: String, _ why: String) -> ReservationError {
        ReservationError(.corrupt(path: path), "reservation store: corrupt entry \(path): \(why)")
    }
}
