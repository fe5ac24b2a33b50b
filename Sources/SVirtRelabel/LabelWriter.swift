import SVirtSystem

/// The outcome of labeling one entry.
enum EntryOutcome {
    case unchanged
    case changed
    /// A tolerated errno (see Walk.tolerated): the walk stops with a
    /// warning, which the caller words with the entry's path.
    case stop(Errno)
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
               read: (UnsafeMutableRawBufferPointer) throws(Errno) -> Int,
               write: (UnsafeRawBufferPointer) throws(Errno) -> Void) -> EntryOutcome {
        if policy.shouldRead() {
            do {
                let n = try read(value)
                let matching = label.matches(UnsafeRawBufferPointer(rebasing: value[0..<n]))
                policy.observed(matching: matching)
                if matching { return .unchanged }
            } catch {
                switch error {
                case .noData, .rangeTooSmall:
                    policy.observed(matching: false) // unlabeled, or longer than ours
                case .noEntry:
                    return .unchanged // vanished; nothing to label
                default:
                    if Walk.isTolerated(error) { return .stop(error) }
                    return .failure(.failed(path(), "getxattr", errno: error))
                }
            }
            guard beforeWrite() else { return .unchanged }
            do {
                try writeLabel(write)
                return .changed
            } catch {
                return writeFailure(error, path)
            }
        }
        guard beforeWrite() else { return .unchanged }
        do {
            try writeLabel(write)
            return .changed
        } catch {
            // A blind write failed: it may not have been needed at all.
            if let n = try? read(value), label.matches(UnsafeRawBufferPointer(rebasing: value[0..<n])) {
                policy.observed(matching: true)
                return .unchanged
            }
            return writeFailure(error, path)
        }
    }

    @inline(__always)
    private func writeLabel(_ write: (UnsafeRawBufferPointer) throws(Errno) -> Void) throws(Errno) {
        // withUnsafeBytes rethrows untyped: carry the Errno out.
        try label.stored.withUnsafeBytes { bytes in Result { () throws(Errno) in try write(bytes) } }.get()
    }

    private func writeFailure(_ e: Errno, _ path: () -> String) -> EntryOutcome {
        if e == .noEntry { return .unchanged } // vanished
        if Walk.isTolerated(e) { return .stop(e) }
        return .failure(.failed(path(), "setxattr", errno: e))
    }
}
