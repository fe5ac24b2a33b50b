import SVirtJSON

/// The state a runtime passes to hooks on stdin (runtime-spec runtime.md):
/// `{"ociVersion","id","status","pid","bundle","annotations"}`.
///
/// Modeled on what runtimes really send: runc sends no `pid` at poststop,
/// crun sends `pid` 0 there and an extra `root`; podman's own poststop has
/// no `ociVersion` guarantees beyond the spec's. Only `id`, `status` and
/// `bundle` are required.
public struct OCIState: Equatable, Sendable {
    public let ociVersion: String?
    public let id: String
    public let status: String
    public let pid: Int?
    public let bundle: String
    public let annotations: [String: String]

    /// Whether a top-level object is a state rather than a config.
    public static func looksLikeState(_ object: JSONObject) -> Bool {
        object["id"] != nil && object["status"] != nil && object["bundle"] != nil
            // crun adds a string "root" to its state; a config's root is an object.
            && object["process"] == nil && object["root"]?.objectValue == nil
    }

    public init(_ value: JSONValue) throws(OCIError) {
        guard case .object(let object) = value else {
            throw OCIError("state: expected object, found \(value.kindName)")
        }
        func string(_ key: String, required: Bool) throws(OCIError) -> String? {
            guard let v = object[key], !v.isNull else {
                if required { throw OCIError("state.\(key): missing") }
                return nil
            }
            guard case .string(let s) = v else { throw OCIError.wrongType("state.\(key)", expected: "string", found: v) }
            return s
        }
        ociVersion = try string("ociVersion", required: false)
        id = try string("id", required: true)!
        status = try string("status", required: true)!
        bundle = try string("bundle", required: true)!
        guard !bundle.isEmpty else { throw OCIError("state.bundle: empty") }
        if let v = object["pid"], !v.isNull {
            guard case .number(let text) = v, let n = Int(text) else {
                throw OCIError.wrongType("state.pid", expected: "integer", found: v)
            }
            pid = n
        } else {
            pid = nil
        }
        var annotations: [String: String] = [:]
        if let v = object["annotations"], !v.isNull {
            guard case .object(let a) = v else { throw OCIError.wrongType("state.annotations", expected: "object", found: v) }
            for m in a.members {
                guard case .string(let s) = m.value else {
                    throw OCIError.wrongType("state.annotations.\(m.key)", expected: "string", found: m.value)
                }
                annotations[m.key] = s
            }
        }
        self.annotations = annotations
    }

    /// The hook stage this state was sent at, from its status: `creating`
    /// (runc at prestart/createRuntime) and `created` (crun, and
    /// createContainer/startContainer) are before start, `running` after
    /// it, `stopped` is poststop.
    public var stage: HookStage? {
        switch status {
        case "creating", "created": .createRuntime
        case "running": .poststart
        case "stopped": .poststop
        default: nil
        }
    }
}

/// OCI hook stages, plus podman's `precreate` (config in, config out).
public enum HookStage: String, Sendable, CaseIterable {
    case precreate, prestart, createRuntime, createContainer, startContainer, poststart, poststop

    /// Stages before the container's process starts, where labels and
    /// relabeled mounts must already be right.
    public var isBeforeStart: Bool {
        switch self {
        case .prestart, .createRuntime, .createContainer, .startContainer: true
        default: false
        }
    }
}

/// What arrived on stdin: a config to label, or a runtime's state.
public enum OCIDocument: Equatable, Sendable {
    case config(OCIConfig)
    case state(OCIState)

    /// Tells a config from a state by their required members; neither is
    /// an error naming what was expected.
    public init(_ value: JSONValue) throws(OCIError) {
        guard case .object(let object) = value else {
            throw OCIError("input: expected an OCI config or state object, found \(value.kindName)")
        }
        if OCIState.looksLikeState(object) {
            self = .state(try OCIState(value))
        } else if OCIConfig.looksLikeConfig(object) {
            self = .config(try OCIConfig(value))
        } else {
            throw OCIError("input is neither an OCI config (ociVersion with process/root) nor an OCI state (id, status, bundle)")
        }
    }
}
