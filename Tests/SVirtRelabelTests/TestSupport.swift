import Foundation
import Glibc
import Testing
@testable import SVirtRelabel
import SVirtPaths

/// For suites that write security.selinux, mount, or make device nodes:
/// skipped when not root, with the reason in the test log (not a failure
/// that reads like a bug, nor a silent pass).
extension Trait where Self == ConditionTrait {
    static var needsRoot: Self {
        .enabled(if: getuid() == 0, "needs root: writes security.selinux xattrs and mounts file systems")
    }
}

/// A scratch directory on a real file system, removed (after unmounting
/// anything the test mounted in it) when the test ends.
final class Scratch {
    let path: String
    private var mounts: [String] = []

    init(base: String = "/tmp") {
        var template = Array("\(base)/svirt-relabel-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp in \(base)")
        path = String(cString: template)
    }

    deinit {
        for point in mounts.reversed() { _ = try? run("/bin/umount", ["-l", point]) }
        _ = try? run("/bin/rm", ["-rf", "--one-file-system", path])
    }

    func mount(_ arguments: [String], at point: String) throws {
        try run("/bin/mount", arguments + [point])
        mounts.append(point)
    }

    func unmount(_ point: String) throws {
        try run("/bin/umount", [point])
        mounts.removeAll { $0 == point }
    }

    func dir(_ relative: String) -> String {
        let p = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @discardableResult
    func file(_ relative: String, _ text: String = "x") -> String {
        let p = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    @discardableResult
    func symlink(_ relative: String, to target: String) -> String {
        let p = path + "/" + relative
        try! FileManager.default.createSymbolicLink(atPath: p, withDestinationPath: target)
        return p
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    let description: String
}

@discardableResult
func run(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(description: "\(tool) \(arguments): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Labels read back by getfattr (not by our own code): path -> label, for
/// `path` and, with `recursive`, everything below it without following
/// symlinks. Unlabeled entries are absent.
func labels(_ path: String, recursive: Bool = false) -> [String: String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/getfattr")
    process.arguments = ["-h", "-P", "--absolute-names", "-n", "security.selinux", "-e", "text"]
        + (recursive ? ["-R"] : []) + [path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try! process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var result: [String: String] = [:]
    var current: String?
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if line.hasPrefix("# file: ") {
            current = String(line.dropFirst("# file: ".count))
        } else if line.hasPrefix("security.selinux=\""), let file = current {
            result[file] = String(line.dropFirst("security.selinux=\"".count).dropLast())
        }
    }
    return result
}

func label(_ path: String) -> String? { labels(path)[path] }

/// The tree stamp (TreeStamp) on `path`, read by getfattr; nil when absent.
func stamp(_ path: String) -> String? {
    try? run("/usr/bin/getfattr", ["--absolute-names", "--only-values", "-n", "trusted.svirt.relabel", path])
}

/// Every path below `root` (not following symlinks), `root` included.
func allPaths(_ root: String) -> [String] {
    var paths = [root]
    let enumerator = FileManager.default.enumerator(atPath: root)!
    while let relative = enumerator.nextObject() as? String { paths.append(root + "/" + relative) }
    return paths
}

func makeSocket(_ path: String) throws {
    try run("/usr/bin/python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path])
}

let labelA = "system_u:object_r:container_file_t:s0:c1,c2"
let labelB = "system_u:object_r:container_file_t:s0:c3,c4"
let labelC = "system_u:object_r:container_file_t:s0:c5,c6"

/// The clock as Relabeler reads it, to nanoseconds.
func preciseNow() -> TreeStamp.Timestamp { Relabeler.now() }

/// Waits (bounded: one second) until the clock file times are taken from
/// has passed `t`.
func waitForCoarseClock(after t: TreeStamp.Timestamp) throws {
    struct ClockStuck: Error {}
    for _ in 0..<1000 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        if TreeStamp.Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec)) > t { return }
        usleep(1000)
    }
    throw ClockStuck()
}

/// Holds the write lock (TreeLock.forWrites) for `path`'s place in its
/// file system, as a relabel writing there would.
func holdWrites(_ path: String, locks: String) throws -> WriteLock? {
    let source = try ResolvedSource.open(FilePath(path), policy: SystemPathPolicy())
    defer { source.fd.close() }
    return try TreeLock.forWrites(source.place, directory: locks)
}
