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

    public init(contexts: LXCContexts, categoryRange: CategoryRange = .full,
                validate: (@Sendable (String) -> Bool)? = nil) {
        self.contexts = contexts
        self.categoryRange = categoryRange
        self.validate = validate
    }
}
