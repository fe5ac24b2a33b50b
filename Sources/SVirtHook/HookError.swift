import SVirtOCI
import SVirtSELinux

/// A failure of the hook with the exit code of its class (see ExitCode)
/// and a one-line reason for stderr and syslog.
public struct HookError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: ExitCode
    public let message: String

    public init(_ code: ExitCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func input(_ error: OCIError) -> HookError { HookError(.badInput, error.description) }
}

/// Runs `body`, turning an OCIError into a bad-input HookError.
@inline(__always)
func oci<T>(_ body: () throws(OCIError) -> T) throws(HookError) -> T {
    do { return try body() } catch { throw HookError.input(error) }
}
