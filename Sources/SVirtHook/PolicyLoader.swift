import SVirtSELinux

/// Host policy facts through libselinux, turned into a `Policy`.
public enum PolicyLoader {
    /// With SELinux on: the policy's (or `contextsFile`'s) lxc_contexts, the
    /// category range from our own context (getcon_raw, libvirt's rule), and
    /// security_check_context for validation. With SELinux off
    /// (`--selinux=on` on such a host): `contextsFile` or the configured
    /// policy's file if one is installed, all of c0.c1023, syntax checks only.
    public static func load(contextsFile: String?, selinuxEnabled: Bool) throws(HookError) -> Policy {
        guard let path = contextsFile ?? HostPolicy.lxcContextsPath() else {
            throw HookError(.policy, "no lxc_contexts file: libselinux names none; pass --contexts FILE")
        }
        let contexts: LXCContexts
        do {
            contexts = try HostPolicy.loadContexts(path: path)
        } catch {
            let hint = contextsFile == nil && !selinuxEnabled ? " (SELinux is off here: pass --contexts FILE)" : ""
            throw HookError(.policy, "\(error)\(hint)")
        }
        guard selinuxEnabled else { return Policy(contexts: contexts, contextsPath: path) }
        let own: String
        do {
            own = try HostPolicy.currentContext()
        } catch {
            throw HookError(.policy, "cannot read own SELinux context: \(error)")
        }
        guard let range = HostPolicy.categoryRange(ofContext: own) else {
            throw HookError(.policy, "own SELinux context \(own) has no usable category range")
        }
        return Policy(contexts: contexts, categoryRange: range,
                      validate: { HostPolicy.isValidContext($0) },
                      knowsType: { HostPolicy.knowsType($1, user: $0) },
                      contextsPath: path)
    }
}
