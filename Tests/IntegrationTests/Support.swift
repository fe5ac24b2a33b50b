import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where things are: the package, its fixtures, and the built binary next
/// to this test bundle (so a custom --scratch-path works too).
enum Paths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let fixtures = packageRoot + "/Tests/IntegrationTests/Fixtures"
    static let contexts = fixtures + "/lxc_contexts"
    static let podmanConfig = fixtures + "/podman-4.3.1-config.json"
    static let schemaDirectory = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"

    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["SVIRT_HOOK_BINARY"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the test bundle is a plain executable in the build dir.
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        let beside = dir.appendingPathComponent("svirt-hook").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot + "/.build/debug/svirt-hook"
    }()
}

/// The hook flags every labeling test uses: label although this host has
/// SELinux off, with the fixture's types.
let labelFlags = ["--selinux=on", "--contexts", Paths.contexts]

/// External programs, found where Debian installs them; a test that needs a
/// missing one is skipped with the reason printed.
enum Tool {
    static func path(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }

    /// Nil when everything is there, else the reason to skip (also printed,
    /// so a CI log shows what did not run and why).
    static func missing(_ names: [String], root: Bool = false, python: Bool = false) -> String? {
        var reasons = names.filter { path($0) == nil }.map { "\($0) not installed" }
        if root && getuid() != 0 { reasons.append("needs root") }
        if python && !pythonHasJSONSchema { reasons.append("python3 jsonschema module missing") }
        if !FileManager.default.isExecutableFile(atPath: Paths.binary) { reasons.append("no built svirt-hook at \(Paths.binary)") }
        guard !reasons.isEmpty else { return nil }
        let reason = reasons.joined(separator: ", ")
        FileHandle.standardError.write(Data("SKIPPING (integration): \(reason)\n".utf8))
        return reason
    }

    static let pythonHasJSONSchema: Bool = {
        guard let python = path("python3") else { return false }
        return (try? run(python, ["-c", "import jsonschema"]))?.status == 0
    }()
}

struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// The stderr lines, without empty ones.
    var stderrLines: [Substring] { stderr.split(separator: "\n") }
}

/// Runs a program to completion with stdin from bytes (through a file, so a
/// 100 MB input cannot deadlock a pipe) and stdout/stderr captured in files.
/// A run that hangs is killed after `timeout` seconds: a hang must fail the
/// test, not the CI job.
@discardableResult
func run(
    _ executable: String, _ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
    environment: [String: String]? = nil, directory: String? = nil, timeout: Double = 120
) throws -> RunResult {
    let scratch = try TemporaryDirectory(prefix: "run")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let stdinFile {
        process.standardInput = FileHandle(forReadingAtPath: stdinFile)
    } else if let stdin {
        let input = scratch.path + "/stdin"
        try stdin.write(to: URL(fileURLWithPath: input))
        process.standardInput = FileHandle(forReadingAtPath: input)
    } else {
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
    }
    let out = scratch.path + "/stdout", err = scratch.path + "/stderr"
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle(forWritingAtPath: err)
    try process.run()
    let pid = process.processIdentifier
    let killer = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    process.waitUntilExit()
    killer.cancel()
    return RunResult(
        status: process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus,
        stdout: (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data(),
        stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    )
}

/// Runs the built svirt-hook.
@discardableResult
func hook(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil, environment: [String: String]? = nil) throws -> RunResult {
    try run(Paths.binary, arguments, stdin: stdin, stdinFile: stdinFile, environment: environment)
}

/// A directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String
    init(prefix: String) throws {
        var template = Array("/tmp/svirt-it-\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeFile(target, Data(text.utf8), mode: executable ? 0o755 : 0o644)
        return target
    }
}

/// Writes a file through an O_CLOEXEC descriptor. Tests run in parallel, and
/// a descriptor without it leaks into every process another test spawns
/// meanwhile; exec'ing the file then fails with ETXTBSY ("Text file busy")
/// for as long as that process lives.
func writeFile(_ path: String, _ data: Data, mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            offset += n
        }
    }
    fchmod(fd, mode)
}

// MARK: - JSON helpers

func jsonObject(_ data: Data) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any] else {
        throw POSIXError(.EINVAL)
    }
    return object
}

func jsonObject(file: String) throws -> [String: Any] {
    try jsonObject(Data(contentsOf: URL(fileURLWithPath: file)))
}

func writeJSON(_ object: Any, to path: String) throws {
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
}

extension Dictionary where Key == String, Value == Any {
    subscript(path keys: String...) -> Any? {
        var current: Any? = self
        for key in keys { current = (current as? [String: Any])?[key] }
        return current
    }
}

/// The config without the two labels the hook adds, for "nothing else
/// changed" comparisons.
func withoutLabels(_ config: [String: Any]) -> NSDictionary {
    var copy = config
    if var process = copy["process"] as? [String: Any] { process["selinuxLabel"] = nil; copy["process"] = process }
    if var linux = copy["linux"] as? [String: Any] { linux["mountLabel"] = nil; copy["linux"] = linux }
    return copy as NSDictionary
}

/// A label as the fixture's lxc_contexts and a fresh two-category level make
/// it: `TYPE-CONTEXT:s0:cA,cB` with A < B in 0...1023. Returns the level.
func expectFreshLabel(_ label: Any?, prefix: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    guard let label = label as? String else {
        Issue.record("no label where \(prefix)... was expected", sourceLocation: sourceLocation)
        return nil
    }
    guard label.hasPrefix(prefix + ":s0:c") else {
        Issue.record("label \(label) does not start with \(prefix):s0:c", sourceLocation: sourceLocation)
        return nil
    }
    let level = String(label.dropFirst(prefix.count + 1))
    let cats = level.dropFirst(3).split(separator: ",").map { Int($0.dropFirst()) }
    guard cats.count == 2, let a = cats[0], let b = cats[1], level.split(separator: ",")[1].hasPrefix("c"),
          a < b, b <= 1023 else {
        Issue.record("label \(label) has no level s0:cA,cB with A < B <= 1023", sourceLocation: sourceLocation)
        return nil
    }
    return level
}

let processPrefix = "system_u:system_r:svirt_lxc_net_t"
let filePrefix = "system_u:object_r:svirt_sandbox_file_t"

/// Checks both labels of a labeled config: fixture types, one shared level.
@discardableResult
func expectLabeled(_ config: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    let process = expectFreshLabel(config[path: "process", "selinuxLabel"], prefix: processPrefix, sourceLocation: sourceLocation)
    let mount = expectFreshLabel(config[path: "linux", "mountLabel"], prefix: filePrefix, sourceLocation: sourceLocation)
    #expect(process == mount, "process and mount labels must share one level", sourceLocation: sourceLocation)
    return process
}

/// Validates a config against the OCI runtime-spec JSON schema (Debian's
/// golang-github-opencontainers-specs-dev) with python3-jsonschema.
func schemaErrors(_ configFile: String) throws -> String? {
    let script = """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import jsonschema
    d = sys.argv[1]
    schema = json.load(open(d + "/config-schema.json"))
    resolver = jsonschema.RefResolver(base_uri="file://" + d + "/", referrer=schema)
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema, resolver=resolver).iter_errors(json.load(open(sys.argv[2]))), key=str)
    for e in errors[:5]:
        print("/".join(map(str, e.absolute_path)) + ": " + e.message.splitlines()[0])
    sys.exit(1 if errors else 0)
    """
    let result = try run(Tool.path("python3")!, ["-c", script, Paths.schemaDirectory, configFile])
    return result.status == 0 ? nil : result.stdoutText + result.stderr
}

/// Reads a file's SELinux label straight from the xattr with getfattr(1)
/// (SELinux is off on the build host, so no libselinux call would answer),
/// trailing NUL stripped (libselinux writes one, go-selinux does not).
func fileLabel(_ path: String) -> String? {
    guard let getfattr = Tool.path("getfattr"),
          let result = try? run(getfattr, ["-h", "--only-values", "-n", "security.selinux", path]),
          result.status == 0 else { return nil }
    var bytes = Array(result.stdout)
    while bytes.last == 0 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}

/// A minimal root filesystem: busybox-static and a few applet links.
func makeRootfs(at dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
    for sub in ["proc", "sys", "dev", "etc", "tmp", "data"] {
        try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
    }
    try writeFile(dir + "/bin/busybox", Data(contentsOf: URL(fileURLWithPath: Tool.path("busybox")!)), mode: 0o755)
    for applet in ["sh", "cat", "ls", "echo", "id", "true", "sleep", "touch"] {
        try FileManager.default.createSymbolicLink(atPath: dir + "/bin/" + applet, withDestinationPath: "busybox")
    }
}

/// DIR/recorder: a runtime for engines' tests on a host with SELinux off.
/// It logs each call to DIR/calls, keeps the config.json a create got as
/// DIR/received-ID.json, strips the two labels (runc refuses them when
/// SELinux is off, see LAB-NOTES) and execs runc.
func writeRecorder(in d: TemporaryDirectory) throws {
    try d.write("recorder", """
    #!/bin/sh
    echo "$*" >> \(d.file("calls"))
    b=; id=; prev=; create=
    for a in "$@"; do
      [ "$a" = create ] && create=1
      [ "$prev" = --bundle ] && b="$a"
      prev="$a"; id="$a"
    done
    if [ -n "$create" ] && [ -n "$b" ]; then
      cp "$b/config.json" \(d.file("received-"))"$id".json
      /usr/bin/jq 'del(.process.selinuxLabel, .linux.mountLabel)' "$b/config.json" > "$b/config.json.tmp" &&
        mv "$b/config.json.tmp" "$b/config.json"
    fi
    exec \(Tool.path("runc")!) "$@"
    """, executable: true)
}

/// Starts an engine's daemon for a test (stderr to `log`, PATH set, plus
/// `environment`) and waits until `ready` says it answers: bounded, 15 s,
/// then the log is the failure.
func startDaemon(_ executable: String, _ arguments: [String], environment: [String: String], log: String,
                 name: String, ready: () -> Bool) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        .merging(environment) { _, new in new }
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    process.standardError = FileHandle(forWritingAtPath: log)
    try process.run()
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline {
        if ready() { return process }
        usleep(100_000)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    throw TestFailure("\(name) did not answer within 15 s: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
}
