/// A JSON document as an order-preserving tree.
///
/// A hook must hand back every field it does not understand exactly as it
/// came: so objects keep their key order (and any duplicate keys), and
/// numbers keep their source text (2^64-1, -2^63, 1e400 and 0.1 survive
/// untouched, where a Double would round them).
///
/// Equality is byte for byte on strings and keys, like the runtime's: Swift's
/// `==` on strings would call `"\u00e9"` and `"e\u0301"` the same, and a
/// writer that trusted that could put back the wrong bytes.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as it appeared in the input (validated
    /// against the JSON grammar by the parser).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a.utf8.elementsEqual(b.utf8)
        case (.string(let a), .string(let b)): a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }
}

/// An object's members in source order. Lookups return the last member
/// with a key, as Go's encoding/json (runc, podman) resolves duplicate
/// scalars, so the hook reads the same value the runtime will. Keys match
/// byte for byte: Swift's `==` on strings treats canonically equivalent
/// spellings (é as one code point or as e + accent) as equal, a runtime
/// does not.
public struct JSONObject: Equatable, Sendable {
    public var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
    }

    public var keys: [String] { members.map(\.key) }
    public var isEmpty: Bool { members.isEmpty }

    /// Reads the last member named `key`; setting replaces it in place (or
    /// appends a new member at the end), setting nil removes every member
    /// with that key.
    public subscript(key: String) -> JSONValue? {
        get {
            members.last(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value
        }
        set {
            guard let newValue else {
                members.removeAll { $0.key.utf8.elementsEqual(key.utf8) }
                return
            }
            if let index = members.lastIndex(where: { $0.key.utf8.elementsEqual(key.utf8) }) {
                members[index].value = newValue
            } else {
                members.append((key, newValue))
            }
        }
    }
}

extension JSONValue {
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The kind's name as JSON Schema spells it, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Member of an object value, nil for other kinds.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}
