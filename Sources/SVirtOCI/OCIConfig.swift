import SVirtJSON

/// A view over an OCI runtime config (config.json) for the handful of
/// fields svirt-hook reads or writes. Everything else stays in `document`
/// untouched, so unknown fields, key order and number text survive.
///
/// Readers throw `OCIError` naming the field when it has the wrong type;
/// an absent field (or `null`, as Go's encoding/json treats it) reads as nil.
public struct OCIConfig: Equatable, Sendable {
    public private(set) var document: JSONObject

    public init(_ value: JSONValue) throws(OCIError) {
        guard case .object(let object) = value else {
            throw OCIError("config: expected object, found \(value.kindName)")
        }
        try Self.refuseAmbiguousDuplicates(object)
        document = object
    }

    /// Go's encoding/json (runc, podman) merges a duplicated object member
    /// into one struct or map, where this view would read only the last
    /// one: `"process":{"selinuxLabel":…},"process":{"args":…}` is one
    /// labeled process to the runtime. Rather than model that merge, a
    /// config duplicating a member the hook reads or writes is refused.
    static func refuseAmbiguousDuplicates(_ object: JSONObject) throws(OCIError) {
        let touched: [(parent: String, children: [String])] = [
            ("process", ["selinuxLabel"]), ("linux", ["mountLabel"]), ("root", ["path"]),
            ("annotations", []), ("mounts", []),
        ]
        for (parent, children) in touched {
            let count = object.members.count { $0.key.utf8.elementsEqual(parent.utf8) }
            if count > 1 { throw OCIError("config: member \"\(parent)\" appears \(count) times") }
            guard case .object(let inner)? = object[parent] else { continue }
            for child in children {
                let count = inner.members.count { $0.key.utf8.elementsEqual(child.utf8) }
                if count > 1 { throw OCIError("config: member \"\(parent).\(child)\" appears \(count) times") }
            }
        }
    }

    public var json: JSONValue { .object(document) }

    /// Whether a top-level object looks like a runtime config rather than a state.
    public static func looksLikeConfig(_ object: JSONObject) -> Bool {
        object["ociVersion"] != nil
            && (object["process"] != nil || object["root"] != nil || object["linux"] != nil || object["mounts"] != nil)
    }

    // MARK: labels

    public var hasProcess: Bool { (try? object("process")) != nil }
    public var hasLinux: Bool { (try? object("linux")) != nil }

    /// `process.selinuxLabel`; an empty string counts as unset, as runc and podman read it.
    public func processLabel() throws(OCIError) -> String? {
        try nonEmpty(string(in: "process", "selinuxLabel"))
    }

    /// `linux.mountLabel`; an empty string counts as unset.
    public func mountLabel() throws(OCIError) -> String? {
        try nonEmpty(string(in: "linux", "mountLabel"))
    }

    /// Sets `process.selinuxLabel`; the `process` object must exist
    /// (a config without one has no process to label).
    public mutating func setProcessLabel(_ label: String) throws(OCIError) {
        try set(.string(label), in: "process", "selinuxLabel", create: false)
    }

    /// Sets `linux.mountLabel`, creating `linux` when absent.
    public mutating func setMountLabel(_ label: String) throws(OCIError) {
        try set(.string(label), in: "linux", "mountLabel", create: true)
    }

    // MARK: other fields

    /// `annotations` as (key, value) pairs in document order.
    public func annotations() throws(OCIError) -> [(key: String, value: String)] {
        guard let value = document["annotations"], !value.isNull else { return [] }
        guard case .object(let object) = value else {
            throw OCIError.wrongType("annotations", expected: "object", found: value)
        }
        var out: [(key: String, value: String)] = []
        for member in object.members {
            guard case .string(let s) = member.value else {
                throw OCIError.wrongType("annotations.\(member.key)", expected: "string", found: member.value)
            }
            out.append((member.key, s))
        }
        return out
    }

    /// The annotation `key` (the last one, as Go reads duplicates).
    public func annotation(_ key: String) throws(OCIError) -> String? {
        try annotations().last(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value
    }

    /// `root.path`.
    public func rootPath() throws(OCIError) -> String? {
        try nonEmpty(string(in: "root", "path"))
    }

    /// `root.readonly`.
    public func rootReadOnly() throws(OCIError) -> Bool {
        guard let root = try object("root"), let value = root["readonly"], !value.isNull else { return false }
        guard case .bool(let b) = value else { throw OCIError.wrongType("root.readonly", expected: "boolean", found: value) }
        return b
    }

    /// `hostname`.
    public func hostname() throws(OCIError) -> String? {
        guard let value = document["hostname"], !value.isNull else { return nil }
        guard case .string(let s) = value else { throw OCIError.wrongType("hostname", expected: "string", found: value) }
        return nonEmpty(s)
    }

    /// `linux.cgroupsPath` (podman puts the container id in it).
    public func cgroupsPath() throws(OCIError) -> String? {
        try nonEmpty(string(in: "linux", "cgroupsPath"))
    }

    /// `mounts`, in order.
    public func mounts() throws(OCIError) -> [OCIMount] {
        guard let value = document["mounts"], !value.isNull else { return [] }
        guard case .array(let items) = value else { throw OCIError.wrongType("mounts", expected: "array", found: value) }
        var out: [OCIMount] = []
        out.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            out.append(try OCIMount(item, index: index))
        }
        return out
    }

    /// Replaces `mounts[index].options`, leaving the mount's other members
    /// and their order alone. An empty list removes the member.
    public mutating func setMountOptions(_ options: [String], at index: Int) throws(OCIError) {
        guard case .array(var items) = document["mounts"], items.indices.contains(index),
              case .object(var mount) = items[index] else {
            throw OCIError("mounts[\(index)]: no such mount")
        }
        mount["options"] = options.isEmpty ? nil : .array(options.map { .string($0) })
        items[index] = .object(mount)
        document["mounts"] = .array(items)
    }

    // MARK: helpers

    func object(_ key: String) throws(OCIError) -> JSONObject? {
        guard let value = document[key], !value.isNull else { return nil }
        guard case .object(let object) = value else { throw OCIError.wrongType(key, expected: "object", found: value) }
        return object
    }

    func string(in parent: String, _ key: String) throws(OCIError) -> String? {
        guard let object = try object(parent), let value = object[key], !value.isNull else { return nil }
        guard case .string(let s) = value else {
            throw OCIError.wrongType("\(parent).\(key)", expected: "string", found: value)
        }
        return s
    }

    private func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    private mutating func set(_ value: JSONValue, in parent: String, _ key: String, create: Bool) throws(OCIError) {
        var object: JSONObject
        if let existing = try self.object(parent) {
            object = existing
        } else if create {
            object = JSONObject()
        } else {
            throw OCIError("\(parent): missing, cannot set \(parent).\(key)")
        }
        object[key] = value
        document[parent] = .object(object)
    }
}

/// One entry of `mounts`: the fields a relabel needs, and its position so
/// a changed option list can be written back to the same entry.
public struct OCIMount: Equatable, Sendable {
    public let index: Int
    public let destination: String
    public let source: String?
    public let type: String?
    public let options: [String]

    public init(index: Int, destination: String, source: String?, type: String?, options: [String]) {
        self.index = index
        self.destination = destination
        self.source = source
        self.type = type
        self.options = options
    }

    init(_ value: JSONValue, index: Int) throws(OCIError) {
        let field = "mounts[\(index)]"
        guard case .object(let object) = value else { throw OCIError.wrongType(field, expected: "object", found: value) }
        func string(_ key: String) throws(OCIError) -> String? {
            guard let v = object[key], !v.isNull else { return nil }
            guard case .string(let s) = v else { throw OCIError.wrongType("\(field).\(key)", expected: "string", found: v) }
            return s
        }
        guard let destination = try string("destination") else {
            throw OCIError("\(field).destination: missing")
        }
        var options: [String] = []
        if let v = object["options"], !v.isNull {
            guard case .array(let items) = v else { throw OCIError.wrongType("\(field).options", expected: "array", found: v) }
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else {
                    throw OCIError.wrongType("\(field).options[\(i)]", expected: "string", found: item)
                }
                options.append(s)
            }
        }
        self.init(index: index, destination: destination, source: try string("source"),
                  type: try string("type"), options: options)
    }

    /// A bind mount by type (`bind`) or by option (`bind`/`rbind`), as runc decides.
    public var isBind: Bool {
        type == "bind" || options.contains("bind") || options.contains("rbind")
    }

    public var isReadOnly: Bool { options.contains("ro") }
}
