import SVirtOCI

/// Who a container is, in words a person can look up in the engine
/// (`podman ps`, `docker ps`, `ctr c ls`, `kubectl get pod`): what
/// `svirt-hook list` shows as HOLDER. Only what the config itself says:
///
///   - a pod, by the CRI annotations (containerd, CRI-O) for namespace and
///     name, else by its sandbox id;
///   - the engine and container id the engine wrote into
///     `linux.cgroupsPath` (podman `libpod-ID`, Docker `docker-ID`,
///     containerd's CRI `cri-containerd-ID`, in cgroupfs or systemd form);
///   - containerd's bundle directory `.../io.containerd.runtime.v2.task/NS/ID`
///     (ctr, nerdctl, and Docker, whose namespace is `moby`);
///   - the hostname, which podman and Docker default to the id's first 12
///     characters.
///
/// Nothing decides anything by it: it is a record for people.
public enum ContainerHolder {
    /// Long enough for any engine's words, short enough for a table.
    static let limit = 200

    public static func describe(_ config: OCIConfig, sandboxID: String?, bundle: String?) -> String? {
        let text: String?
        if let sandboxID {
            text = pod(config) ?? "pod sandbox \(short(sandboxID))"
        } else {
            let host = try? config.hostname()
            if let (engine, id) = fromCgroupsPath((try? config.cgroupsPath()) ?? nil) ?? bundle.flatMap(fromBundle) {
                let name = "\(engine) \(short(id))"
                if let host, !host.isEmpty, !id.hasPrefix(host) { text = "\(name) (hostname \(host))" } else { text = name }
            } else if let host, !host.isEmpty {
                text = "hostname \(host)"
            } else {
                text = nil
            }
        }
        return text.map { String($0.unicodeScalars.prefix(limit)) }
    }

    /// CRI's own annotations for the pod's namespace and name.
    static func pod(_ config: OCIConfig) -> String? {
        let pairs = [("io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-name"),
                     ("io.kubernetes.pod.namespace", "io.kubernetes.pod.name")]
        for (ns, name) in pairs {
            if let n = (try? config.annotation(name)) ?? nil, !n.isEmpty {
                let space = ((try? config.annotation(ns)) ?? nil).flatMap { $0.isEmpty ? nil : $0 }
                return "pod " + (space.map { "\($0)/" } ?? "") + n
            }
        }
        return nil
    }

    /// Engines' cgroup names for a container, innermost last:
    /// `/libpod_parent/libpod-ID`, `machine.slice:libpod:ID`,
    /// `/docker/ID`, `system.slice:docker:ID`,
    /// `kubepods-...slice:cri-containerd:ID`, and `PREFIX-ID.scope`.
    static func fromCgroupsPath(_ path: String?) -> (engine: String, id: String)? {
        guard let path else { return nil }
        let engines = ["libpod": "podman", "docker": "docker", "cri-containerd": "containerd", "crio": "cri-o"]
        let parts = path.split(whereSeparator: { $0 == "/" || $0 == ":" }).map(String.init)
        for (i, part) in parts.enumerated().reversed() {
            var word = part
            if word.hasSuffix(".scope") { word.removeLast(".scope".count) }
            for (prefix, engine) in engines {
                if word.hasPrefix(prefix + "-"), isID(word.dropFirst(prefix.count + 1)) {
                    return (engine, String(word.dropFirst(prefix.count + 1)))
                }
                if word == prefix, i + 1 < parts.count, isID(parts[i + 1][...]) {
                    return (engine, parts[i + 1])
                }
            }
        }
        return nil
    }

    /// containerd's task bundle (ContainerdTask.identify): the namespace
    /// and container id.
    static func fromBundle(_ bundle: String) -> (engine: String, id: String)? {
        guard let (namespace, id) = ContainerdTask.identify(bundle: bundle) else { return nil }
        return namespace == "moby" ? ("docker", id) : ("containerd", "\(namespace)/\(id)")
    }

    /// Engines' ids are 64 hex digits; a shorter word is some other name.
    static func isID(_ word: Substring) -> Bool {
        word.utf8.count == 64 && word.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The 12-character form every engine's CLI accepts for a 64-digit id.
    static func short(_ id: String) -> String {
        isID(id[...]) ? String(id.prefix(12)) : id
    }
}
