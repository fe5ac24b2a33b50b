import SVirtHook
import SVirtJSON
import SVirtOCI
import SVirtSELinux

/// Hands out a fixed level and records what it was asked.
final class RecordingAllocator: LevelAllocator, @unchecked Sendable {
    var next: MCSLevel
    var requests: [(key: ContainerKey?, range: CategoryRange)] = []
    var claims: [(level: MCSLevel, key: ContainerKey)] = []
    var failure: Error?

    init(next: MCSLevel = MCSLevel("s0:c7,c42")!) { self.next = next }

    func level(for key: ContainerKey?, range: CategoryRange) throws -> MCSLevel {
        if let failure { throw failure }
        requests.append((key, range))
        return next
    }

    /// What claim says for a level, as the store would for a shared one.
    var sharedNotice: String?
    func claim(_ level: MCSLevel, for key: ContainerKey) throws -> String? {
        if let failure { throw failure }
        claims.append((level, key))
        return sharedNotice
    }
}

final class RecordingRelabeler: MountRelabeler, @unchecked Sendable {
    var calls: [(source: String, label: String)] = []
    var failure: Error?
    /// Sources reported as completely labeled already.
    var complete: Set<String> = []
    /// The `within` of each call, in order.
    var confinements: [String?] = []
    func relabel(source: String, label: String, within: String?) throws -> [String] {
        if let failure { throw failure }
        calls.append((source, label))
        confinements.append(within)
        return []
    }
    func isComplete(source: String, label: String) -> Bool {
        complete.contains(source)
    }
}

final class RecordingRelease: ReservationRelease, @unchecked Sendable {
    var stopped: [ContainerKey] = []
    func containerStopped(_ key: ContainerKey) throws -> String? {
        stopped.append(key)
        return "released \(key.key)"
    }
}

struct Failure: Error, CustomStringConvertible { let description: String }

let testContexts = try! LXCContexts(parsing: """
    process = "system_u:system_r:container_t:s0"
    file = "system_u:object_r:container_file_t:s0"
    ro_file = "system_u:object_r:container_ro_file_t:s0"
    """)

let testPolicy = Policy(contexts: testContexts)

func json(_ text: String) -> JSONValue { try! JSON.parse(Array(text.utf8)) }
func config(_ text: String) -> OCIConfig { try! OCIConfig(json(text)) }
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// An environment of doubles; files are served from `files`.
func environment(
    enabled: Bool = true, allocator: RecordingAllocator = RecordingAllocator(),
    relabeler: RecordingRelabeler = RecordingRelabeler(), release: RecordingRelease? = RecordingRelease(),
    files: [String: String] = [:], cwd: String? = "/work", policy: Policy = testPolicy
) -> HookEnvironment {
    HookEnvironment(
        selinuxEnabled: enabled,
        loadPolicy: { () throws(HookError) in policy },
        allocator: { () throws(HookError) -> any LevelAllocator in allocator },
        relabeler: { () throws(HookError) -> any MountRelabeler in relabeler },
        release: { () throws(HookError) -> (any ReservationRelease)? in release },
        readFile: { (path: String) throws(HookError) -> [UInt8] in
            guard let t = files[path] else { throw HookError(.io, "read \(path): No such file or directory") }
            return Array(t.utf8)
        },
        currentDirectory: cwd)
}
