import SVirtJSON

/// The input is not a usable OCI document: one line naming the field and
/// what was wrong with it, e.g. `process.selinuxLabel: expected string, found number`.
public struct OCIError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func wrongType(_ field: String, expected: String, found: JSONValue) -> OCIError {
        OCIError("\(field): expected \(expected), found \(found.kindName)")
    }
}
