import Foundation
import Testing

/// The runtime wrapper against a fake runtime that records what it was given
/// (argv, the bundle's config.json as it was at exec time) and answers with
/// known output and exit status, so pass-through is checked exactly.
@Suite("Runtime wrapper with a recording fake runtime", .enabled(if: Tool.missing([]) == nil))
struct RuntimeWrapperTests {
    /// A fake runc: records argv (one per line), copies ./config.json or the
    /// --bundle one, echoes stdin, writes to both streams, exits 42.
    private func fakeRuntime(_ dir: TemporaryDirectory) throws -> String {
        try dir.write("fake-runc", """
        #!/bin/sh
        for a in "$@"; do printf '%s\\n' "$a"; done > \(dir.file("argv"))
        b=.; prev=
        for a in "$@"; do case "$prev" in --bundle|-b) b="$a";; esac; prev="$a"; done
        [ -f "$b/config.json" ] && cp "$b/config.json" \(dir.file("received.json"))
        cat
        echo fake-out
        echo fake-err >&2
        exit 42
        """, executable: true)
    }

    private func bundle(_ dir: TemporaryDirectory) throws -> String {
        try dir.write("bundle/config.json", BadInputTests.validConfig)
        return dir.file("bundle")
    }

    private func environment(_ dir: TemporaryDirectory, runtime: String, flags: [String]? = nil) -> [String: String] {
        ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SVIRT_RUNTIME": runtime,
         "SVIRT_HOOK_FLAGS": (flags ?? (labelFlags + ["--no-reserve"])).joined(separator: " ")]
    }

    private func recordedArgv(_ dir: TemporaryDirectory) -> [String]? {
        (try? String(contentsOfFile: dir.file("argv"), encoding: .utf8))?.split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    @Test("create: the bundle is labeled before the runtime runs; argv, stdio and exit status pass through unchanged")
    func createLabelsThenExecs() throws {
        let dir = try TemporaryDirectory(prefix: "wrap")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let args = ["--root", dir.file("root"), "--log", dir.file("log.json"), "--log-format", "json",
                    "create", "--bundle", b, "--pid-file", dir.file("pid"), "ctr1"]
        let result = try run(Paths.binary, ["runtime"] + args, stdin: Data("from-stdin\n".utf8),
                             environment: environment(dir, runtime: fake))
        #expect(result.status == 42, "\(result.stderr)")
        #expect(result.stdoutText == "from-stdin\nfake-out\n")
        #expect(result.stderr == "fake-err\n")
        #expect(recordedArgv(dir) == args)
        expectLabeled(try jsonObject(file: dir.file("received.json")))
    }

    @Test("invoked as svirt-runc with no --bundle, the working directory's config.json is labeled")
    func svirtRuncUsesWorkingDirectory() throws {
        let dir = try TemporaryDirectory(prefix: "wrapcwd")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        try FileManager.default.createSymbolicLink(atPath: dir.file("svirt-runc"), withDestinationPath: Paths.binary)
        let result = try run(dir.file("svirt-runc"), ["run", "-d", "ctr2"], environment: environment(dir, runtime: fake), directory: b)
        #expect(result.status == 42, "\(result.stderr)")
        #expect(recordedArgv(dir) == ["run", "-d", "ctr2"])
        expectLabeled(try jsonObject(file: b + "/config.json"))
    }

    @Test("a global flag's value that reads 'create' is not a create: config untouched, runtime called")
    func flagValueIsNotCommand() throws {
        let dir = try TemporaryDirectory(prefix: "wrapval")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let result = try run(Paths.binary, ["runtime", "--root", "create", "state", "ctr3"],
                             environment: environment(dir, runtime: fake), directory: b)
        #expect(result.status == 42, "\(result.stderr)")
        #expect(recordedArgv(dir) == ["--root", "create", "state", "ctr3"])
        #expect(try String(contentsOfFile: b + "/config.json", encoding: .utf8) == BadInputTests.validConfig)
    }

    @Test("a labeling failure stops the create: hook's exit code, one stderr line, error in the --log file, runtime never run")
    func labelFailureStopsCreate() throws {
        let dir = try TemporaryDirectory(prefix: "wrapfail")
        let fake = try fakeRuntime(dir)
        try dir.write("bundle/config.json", "{not json")
        let result = try run(Paths.binary, ["runtime", "--log", dir.file("log.json"), "--log-format", "json",
                                            "create", "--bundle", dir.file("bundle"), "ctr4"],
                             environment: environment(dir, runtime: fake))
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("svirt-runc: not creating container ctr4"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("argv")), "the runtime ran")
        let log = try jsonObject(Data(contentsOf: URL(fileURLWithPath: dir.file("log.json"))))
        #expect(log["level"] as? String == "error")
        #expect((log["msg"] as? String)?.contains("ctr4") == true)
        #expect(try String(contentsOfFile: dir.file("bundle/config.json"), encoding: .utf8) == "{not json")
    }

    @Test("crun's --config naming a file other than BUNDLE/config.json: exit 2, one line naming it, runtime never run, nothing labeled")
    func otherConfigRefused() throws {
        let dir = try TemporaryDirectory(prefix: "wrapcfg")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        try dir.write("alt.json", BadInputTests.validConfig)
        for spelling in [["-f", "alt.json"], ["--config", "alt.json"], ["--config=alt.json"]] {
            let result = try run(Paths.binary, ["runtime", "--log", dir.file("log"), "create"] + spelling + ["-b", b, "c1"],
                                 environment: environment(dir, runtime: fake), directory: dir.path)
            #expect(result.status == 2, "\(spelling) \(result.stderr)")
            #expect(result.stderrLines.count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("not creating container c1") && result.stderr.contains("alt.json"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("argv")), "the runtime ran")
        }
        #expect(try String(contentsOfFile: b + "/config.json", encoding: .utf8) == BadInputTests.validConfig)
        #expect(try String(contentsOfFile: dir.file("alt.json"), encoding: .utf8) == BadInputTests.validConfig)
        #expect((try String(contentsOfFile: dir.file("log"), encoding: .utf8)).contains("alt.json"))
    }

    @Test("--config naming BUNDLE/config.json itself (another spelling of the path) labels it and runs")
    func sameConfigProceeds() throws {
        let dir = try TemporaryDirectory(prefix: "wrapcfgok")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let args = ["create", "-f", "bundle/./config.json", "--bundle", b, "c1"]
        let result = try run(Paths.binary, ["runtime"] + args, environment: environment(dir, runtime: fake), directory: dir.path)
        #expect(result.status == 42, "\(result.stderr)")
        #expect(recordedArgv(dir) == args)
        expectLabeled(try jsonObject(file: b + "/config.json"))
    }

    @Test("restore builds a container from the bundle: labeled before the runtime runs")
    func restoreLabels() throws {
        let dir = try TemporaryDirectory(prefix: "wraprest")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let args = ["restore", "--image-path", dir.file("img"), "--bundle", b, "c5"]
        let result = try run(Paths.binary, ["runtime"] + args, environment: environment(dir, runtime: fake))
        #expect(result.status == 42, "\(result.stderr)")
        #expect(recordedArgv(dir) == args)
        expectLabeled(try jsonObject(file: dir.file("received.json")))
    }

    @Test("an empty --bundle= labels the working directory's config.json, as runc reads it")
    func emptyBundleIsWorkingDirectory() throws {
        let dir = try TemporaryDirectory(prefix: "wrapempty")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let result = try run(Paths.binary, ["runtime", "create", "--bundle=", "c6"], environment: environment(dir, runtime: fake), directory: b)
        #expect(result.status == 42, "\(result.stderr)")
        expectLabeled(try jsonObject(file: b + "/config.json"))
    }

    @Test("--help among the hook flags is refused before anything runs: exit 2, nothing on stdout, runtime never run")
    func helpHookFlagRefused() throws {
        let dir = try TemporaryDirectory(prefix: "wraphelp")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let result = try run(Paths.binary, ["runtime", "--hook-flag", "--help", "create", "-b", b, "c7"],
                             environment: environment(dir, runtime: fake))
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("argv")), "the runtime ran")
        #expect(try String(contentsOfFile: b + "/config.json", encoding: .utf8) == BadInputTests.validConfig)
    }

    @Test("a hook flag the wrapper refuses (from SVIRT_HOOK_FLAGS, as daemon.json sets it) is written to the runtime's --log too, in its format")
    func refusedFlagReachesLog() throws {
        let dir = try TemporaryDirectory(prefix: "wraprefuse")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let log = dir.file("log.json")
        let result = try run(Paths.binary, ["runtime", "--log", log, "--log-format", "json", "create", "--bundle", b, "c8"],
                             environment: environment(dir, runtime: fake, flags: ["--stage=precreate"]))
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        let line = try String(contentsOfFile: log, encoding: .utf8)
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(entry["level"] as? String == "error")
        #expect((entry["msg"] as? String)?.contains("hook flag --stage is not allowed in the wrapper") == true, "\(line)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("argv")), "the runtime ran")
    }

    @Test("no real runtime to be found: exit 10 and one line, nothing labeled")
    func missingRuntime() throws {
        let dir = try TemporaryDirectory(prefix: "wrapnone")
        let b = try bundle(dir)
        let result = try run(Paths.binary, ["runtime", "create", "--bundle", b, "x"],
                             environment: environment(dir, runtime: dir.file("no-such-runc")))
        #expect(result.status == 10)
        #expect(result.stderrLines.count == 1)
        #expect(try String(contentsOfFile: b + "/config.json", encoding: .utf8) == BadInputTests.validConfig)
    }

    @Test("--runtime and --hook-flag options override the environment and are not passed on")
    func wrapperOptions() throws {
        let dir = try TemporaryDirectory(prefix: "wrapopt")
        let fake = try fakeRuntime(dir), b = try bundle(dir)
        let env = environment(dir, runtime: "/nonexistent", flags: ["--selinux=off"])
        let result = try run(Paths.binary, ["runtime", "--runtime", fake, "--hook-flag=--selinux=on", "--hook-flag", "--contexts",
                                            "--hook-flag", Paths.contexts, "--hook-flag=--no-reserve", "--",
                                            "create", "-b", b, "x"], environment: env)
        #expect(result.status == 42, "\(result.stderr)")
        #expect(recordedArgv(dir) == ["create", "-b", b, "x"])
        expectLabeled(try jsonObject(file: dir.file("received.json")))
    }
}
