import Glibc

/// syslog(3): podman throws a precreate hook's stderr away, so every failure
/// is also sent here (journald collects it on systemd hosts).
public struct SystemLog: Sendable {
    public enum Priority: Int32, Sendable {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7
    }

    public let identifier: String

    public init(identifier: String) {
        self.identifier = identifier
    }

    public func log(_ priority: Priority, _ message: String) {
        // openlog(3) would keep a pointer to the ident for the process's
        // life; putting the ident in each message avoids that global.
        let line = "\(identifier)[\(getpid())]: \(message)"
        line.withCString { text in
            // "%s" so that a message cannot inject format directives.
            withVaList([text]) { vsyslog(priority.rawValue | LOG_USER, "%s", $0) }
        }
    }
}
