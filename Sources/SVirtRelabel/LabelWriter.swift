import Glibc
import SVirtSystem

/// The outcome of labeling one entry.
enum EntryOutcome {
    case unchanged
    case changed
    /// A tolerated errno (see Walk.tolerated): the walk stops with a
    /// warning, which the caller words with the entry's path.
    case stop(Int32)
    case failure(RelabelError)
}

/// The one place a label is written: read it (unless the WritePolicy says
/// the directory is unlabeled), compare, and write only on a difference,
/// after `beforeWrite` has removed every stamp that covers the write.
/// Walk workers and a file volume's relabel both label through it; only how
/// the entry is reached (`read`, `write`: an *xattrat call, a proc path, a
/// descriptor) differs.
struct LabelWriter {
    let label: FileLabel
    /// Room for our label and a NUL, no more: a longer value fails with
    /// ERANGE, which means "differs", and the kernel zeroes and copies only
    /// this much per read.
    let value: UnsafeMutableRawBufferPointer

    static func valueSize(for label: FileLabel) -> Int { label.stored.count + 1 }

    /// `path` words a failure (called only then); `beforeWrite` false means
    /// nothing may be written (the walk stopped or failed, and says why).
    @inline(__always)
    func apply(_ policy: inout WritePolicy, path: () -> String, beforeWrite: () -> Bool,
               read: (UnsafeMutableRawBufferPointer) -> Int,
               write: (UnsafeRawBufferPointer) -> Int) -> EntryOutcome {
        if policy.shouldRead() {
            let n = read(value)
            if n >= 0 {
                let matching = label.matches(UnsafeRawBufferPointer(rebasing: value[0..<n]))
                policy.observed(matching: matching)
                if matching { return .unchanged }
            } else {
                let e = errno
                switch e {
                case ENODATA, ERANGE:
                    policy.observed(matching: false) // unlabeled, or longer than ours
                case ENOENT:
                    return .unchanged // vanished; nothing to label
                default:
                    if Walk.tolerated(e, "") != nil { return .stop(e) }
                    return .failure(.failed(path(), "getxattr", errno: e))
                }
            }
            guard beforeWrite() else { return .unchanged }
            if label.stored.withUnsafeBytes(write) == 0 { return .changed }
            return writeFailure(errno, path)
        }
        guard beforeWrite() else { return .unchanged }
        if label.stored.withUnsafeBytes(write) == 0 { return .changed }
        let e = errno
        // A blind write failed: it may not have been needed at all.
        let n = read(value)
        if n >= 0 && label.matches(UnsafeRawBufferPointer(rebasing: value[0..<n])) {
            policy.observed(matching: true)
            return .unchanged
        }
        return writeFailure(e, path)
    }

    private func writeFailure(_ e: Int32, _ path: () -> String) -> EntryOutcome {
        if e == ENOENT { return .unchanged } // vanished
        if Walk.tolerated(e, "") != nil { return .stop(e) }
        return .failure(.failed(path(), "setxattr", errno: e))
    }
}
