import SVirtSELinux

/// The host facts a plan needs, as plain values: the pipeline reads them
/// from here and never from the system, so tests inject any policy.
public struct Policy: Sendable {
    public var contexts: LXCContexts
    /// Categories generated levels are drawn from.
    public var categoryRange: CategoryRange
    /// security_check_context(3) when a policy is loaded; nil when it cannot
    /// be asked (SELinux off, labels prepared for another host), in which
    /// case labels are checked for syntax only.
    public var validate: (@Sendable (String) -> Bool)?
    /// Whether the loaded policy defines a type; asked only after `validate`
    /// refused a label, to tell a policy without the container types (Debian,
    /// Ubuntu) from a bad label. nil when it cannot be asked.
    public var knowsType: (@Sendable (_ user: String, _ type: String) -> Bool)?
    /// Where `contexts` came from, for messages.
    public var contextsPath: String?

    public init(contexts: LXCContexts, categoryRange: CategoryRange = .full,
                validate: (@Sendable (String) -> Bool)? = nil,
                knowsType: (@Sendable (_ user: String, _ type: String) -> Bool)? = nil,
                contextsPath: String? = nil) {
        self.contexts = contexts
        self.categoryRange = categoryRange
        self.validate = validate
        self.knowsType = knowsType
        self.contextsPath = contextsPath
    }

    /// "named as KEY in PATH", for messages about an lxc_contexts entry.
    func naming(_ key: String) -> String {
        "named as \(key) in \(contextsPath ?? "lxc_contexts")"
    }

    /// The one-line error for a label the policy refused because it lacks
    /// the label's type, or nil when the type exists (the label is wrong in
    /// some other way). The fix differs by host, so the line names both.
    func missingType(_ context: SecurityContext, namedBy source: String) -> HookError? {
        // Asked with lxc_contexts' own user: a label's user may be the
        // unknown part, and that is not a missing type.
        guard let knowsType, !knowsType(contexts.file.user, context.type) else { return nil }
        return HookError(.policy, "the loaded SELinux policy has no type \(context.type) (\(source)); "
            + "install the container policy: `make install-policy` or the svirt-hook package "
            + "(Fedora/RHEL: container-selinux); check with `seinfo -t \(context.type)`")
    }
}
