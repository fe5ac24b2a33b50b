import Glibc
import SVirtHook
import SVirtAllocation
import SVirtSELinux

/// The on-disk reservation store as the pipeline's allocator.
public struct StoreAllocator: LevelAllocator {
    public let store: ReservationStore
    /// Levels taken outside the store (running processes' levels), read
    /// only when a new level must be drawn: a kept level needs no scan.
    public let inUse: () -> Set<MCSLevel>

    public init(store: ReservationStore, inUse: @escaping () -> Set<MCSLevel>) {
        self.store = store
        self.inUse = inUse
    }

    public func level(for key: ContainerKey?, range: CategoryRange) throws -> MCSLevel {
        guard let key else {
            throw HookError(.badInput, "cannot identify the container for a reservation: no root.path and no pod sandbox id annotation (or use --no-reserve)")
        }
        do {
            return try store.reserve(key: key.key, rootPath: key.rootPath, holder: key.holder, range: range, inUse: inUse())
        } catch {
            throw HookError(.reservation, error.description)
        }
    }

    public func claim(_ level: MCSLevel, for key: ContainerKey) throws -> String? {
        let others: [String]
        do {
            others = try store.claim(level, key: key.key, rootPath: key.rootPath, holder: key.holder)
        } catch {
            throw HookError(.reservation, error.description)
        }
        guard !others.isEmpty else { return nil }
        let who = key.holder.map { "\(key.key) (\($0))" } ?? key.key
        return "level \(level) of \(who) is also held by \(others.joined(separator: ", ")): "
            + "these containers are not separated from each other (a level the engine or a user chose, not svirt-hook)"
    }
}

/// poststop bookkeeping against the store. A stopped container may start
/// again (podman keeps its storage until `rm`), so its level is released
/// here only when its root file system no longer exists; a pod's level
/// (sandbox key) is shared and left to `svirt-hook gc`, which checks every
/// holder's root.
public struct StoreRelease: ReservationRelease {
    public let store: ReservationStore

    public init(store: ReservationStore) {
        self.store = store
    }

    public func containerStopped(_ key: ContainerKey) throws -> String? {
        guard key.key.hasPrefix("root:"), let root = key.rootPath, !ReservationStore.rootExists(root) else { return nil }
        do {
            let levels = try store.release(key: key.key)
            guard !levels.isEmpty else { return nil }
            return "released \(levels.map(\.description).joined(separator: " ")) of \(key.key) (root gone)"
        } catch where error.kind == .notFound {
            return nil
        } catch {
            throw HookError(.reservation, error.description)
        }
    }
}
