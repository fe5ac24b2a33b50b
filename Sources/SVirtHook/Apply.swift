import SVirtSELinux

/// The one step with effects: takes the level a draft needs from the
/// allocator, completes the plan, and relabels its trees. Writing the
/// config is left to the caller, after everything here succeeded.
public enum Apply {
    /// `allocator` is opened only when the draft needs a level.
    public static func run(_ draft: Draft, allocator: () throws(HookError) -> any LevelAllocator,
                           relabeler: () throws(HookError) -> any MountRelabeler,
                           skippingComplete: Bool = false) throws(HookError) -> (plan: Plan, warnings: [String]) {
        let plan = try complete(draft, allocator: allocator)
        let warnings = plan.relabels.isEmpty ? []
            : try relabel(plan, relabeler: relabeler(), skippingComplete: skippingComplete)
        return (plan, plan.notices + warnings)
    }

    /// The draft's plan, with the level it needs (the allocator opened
    /// only then).
    public static func complete(_ draft: Draft,
                                allocator: () throws(HookError) -> any LevelAllocator) throws(HookError) -> Plan {
        var level: MCSLevel?
        var notices: [String] = []
        switch draft.need {
        case .none:
            break
        case .claim(let levels, _):
            // The container carries its level already: a store that cannot
            // be had (a rootless caller without one, a full disk) must not
            // stop it. It is said, since no other container is kept off
            // that level then.
            do {
                (level, notices) = try self.level(for: draft.need, allocator: allocator())
            } catch where error.code == .reservation {
                let text = levels.map(\.description).joined(separator: " ")
                notices = ["level \(text) not recorded, so it is not kept from other containers: \(error.message)"]
            }
        case .reserve:
            (level, notices) = try self.level(for: draft.need, allocator: allocator())
        }
        var plan = try draft.plan(level: level)
        plan.notices += notices
        return plan
    }

    /// Records the levels a container holds, or reserves one; the reserved
    /// level (nil for a claim) and what the allocator warned of (a claimed
    /// level other containers hold too).
    public static func level(for need: LevelNeed,
                             allocator: any LevelAllocator) throws(HookError) -> (MCSLevel?, [String]) {
        switch need {
        case .none:
            return (nil, [])
        case .claim(let levels, let key):
            var notices: [String] = []
            for level in levels {
                do {
                    if let notice = try allocator.claim(level, for: key) { notices.append(notice) }
                } catch let error as HookError {
                    throw error
                } catch {
                    throw HookError(.reservation, "record level \(level) for \(key): \(error)")
                }
            }
            return (nil, notices)
        case .reserve(let key, let range):
            do {
                return (try allocator.level(for: key, range: range), [])
            } catch let error as HookError {
                throw error
            } catch {
                throw HookError(.reservation, "reserve a level for \(key?.description ?? "the container"): \(error)")
            }
        }
    }

    /// Relabels every target in order and returns the relabeler's warnings.
    /// A failure stops at that target with exit code `relabel`: the hook
    /// then fails, so the container does not start half-labeled. With
    /// `skippingComplete`, a tree whose last relabel to its label finished
    /// is taken as done (runtime stages, right after precreate labeled it)
    /// instead of being walked again.
    public static func relabel(_ plan: Plan, relabeler: any MountRelabeler,
                               skippingComplete: Bool = false) throws(HookError) -> [String] {
        var warnings: [String] = []
        for target in plan.relabels {
            if (skippingComplete || plan.skipLabeled) && relabeler.isComplete(source: target.source, label: target.label) {
                continue
            }
            do {
                warnings += try relabeler.relabel(source: target.source, label: target.label, within: target.within)
            } catch let error as HookError {
                throw error
            } catch {
                throw HookError(.relabel, "relabel \(target.source) (\(target.destination):\(target.mode.rawValue)): \(error)")
            }
        }
        return warnings
    }
}
