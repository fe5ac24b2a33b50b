import Testing
@testable import SVirtHook

@Suite("Runtime wrapper: runc command lines")
struct RuntimeInvocationTests {
    @Test("containerd's create line: globals skipped, create found, bundle and id read")
    func containerdCreate() {
        let line = ["--root", "/run/containerd/runc/default", "--log", "/run/x/log.json", "--log-format", "json",
                    "create", "--bundle", "/run/x/b", "--pid-file", "/run/x/init.pid", "abc"]
        let inv = RuntimeInvocation.parse(line)
        #expect(inv.command == "create")
        #expect(inv.bundle == "/run/x/b")
        #expect(inv.containerID == "abc")
        #expect(inv.logPath == "/run/x/log.json")
        #expect(inv.logFormat == "json")
        #expect(inv.createsContainer)
        #expect(inv.bundleDirectory == "/run/x/b")
    }

    @Test("a global flag's value that reads like a subcommand is not the subcommand")
    func valueLooksLikeCommand() {
        #expect(RuntimeInvocation.parse(["--root", "create", "state", "x"]).command == "state")
        #expect(RuntimeInvocation.parse(["--log", "run", "--log-format", "create", "kill", "x"]).command == "kill")
        #expect(RuntimeInvocation.parse(["--criu", "run", "--rootless", "create", "delete", "x"]).command == "delete")
        #expect(RuntimeInvocation.parse(["--root", "create", "state", "x"]).createsContainer == false)
    }

    @Test("inline --flag=value and single-dash Go forms are read as one word")
    func inlineAndSingleDash() {
        let inv = RuntimeInvocation.parse(["--root=/r", "-log", "/l", "-log-format=text", "run", "-b=/bb", "id"])
        #expect(inv.command == "run")
        #expect(inv.bundle == "/bb")
        #expect(inv.logPath == "/l")
        #expect(inv.logFormat == "text")
        #expect(RuntimeInvocation.parse(["--root=create", "start", "x"]).command == "start")
    }

    @Test("boolean global flags do not swallow the subcommand")
    func booleanGlobals() {
        let inv = RuntimeInvocation.parse(["--debug", "--systemd-cgroup", "create", "id"])
        #expect(inv.command == "create")
        #expect(inv.bundle == nil)
        #expect(inv.bundleDirectory == ".")
        #expect(inv.containerID == "id")
    }

    @Test("bundle flag in every spelling, before or after the id; the last one wins")
    func bundleSpellings() {
        for (args, want) in [
            (["create", "-b", "/a", "id"], "/a"),
            (["create", "--bundle=/a", "id"], "/a"),
            (["create", "-bundle", "/a", "id"], "/a"),
            (["create", "id", "--bundle", "/a"], "/a"),
            (["run", "-d", "--bundle", "/a", "-b", "/b", "id"], "/b"),
        ] {
            #expect(RuntimeInvocation.parse(args).bundle == want, "\(args)")
        }
    }

    @Test("values of other create flags are not taken for the bundle or the id")
    func otherValuedFlags() {
        let inv = RuntimeInvocation.parse(["create", "--console-socket", "-b", "--pid-file", "/p", "id"])
        #expect(inv.bundle == nil)
        #expect(inv.containerID == "id")
        let preserve = RuntimeInvocation.parse(["run", "--preserve-fds", "3", "id"])
        #expect(preserve.containerID == "id")
    }

    @Test("words after -- are positional, not flags")
    func doubleDash() {
        #expect(RuntimeInvocation.parse(["create", "id", "--", "--bundle", "/x"]).bundle == nil)
        #expect(RuntimeInvocation.parse(["--", "create", "id"]).command == "create")
    }

    @Test("only create, run and restore label; help, no command and other commands do not")
    func whichCommandsLabel() {
        #expect(RuntimeInvocation.parse(["run", "id"]).createsContainer)
        #expect(RuntimeInvocation.parse(["restore", "id"]).createsContainer)
        #expect(!RuntimeInvocation.parse(["restore", "--help"]).createsContainer)
        #expect(!RuntimeInvocation.parse(["create", "--help"]).createsContainer)
        #expect(!RuntimeInvocation.parse(["run", "-h"]).createsContainer)
        #expect(RuntimeInvocation.parse(["--version"]).command == nil)
        #expect(RuntimeInvocation.parse([]).command == nil)
        for command in ["start", "delete", "kill", "state", "exec", "list", "ps", "events", "update", "pause", "resume", "checkpoint"] {
            #expect(!RuntimeInvocation.parse([command, "id"]).createsContainer, "\(command)")
        }
    }

    @Test("restore reads its bundle and skips its valued flags (runc restore --image-path ... --bundle B id)")
    func restoreLine() {
        let inv = RuntimeInvocation.parse(["--root", "/r", "restore", "--image-path", "/img", "--work-path", "/w",
                                           "--manage-cgroups-mode", "soft", "--lsm-profile", "p", "--bundle", "/b", "id"])
        #expect(inv.command == "restore")
        #expect(inv.createsContainer)
        #expect(inv.bundleDirectory == "/b")
        #expect(inv.containerID == "id")
    }

    @Test("crun's --config/-f is read in every spelling, and its value is not taken for the id")
    func configFlag() {
        for args in [["create", "-f", "alt.json", "-b", "/b", "c1"], ["create", "--config", "alt.json", "c1"],
                     ["run", "c1", "--config=alt.json"], ["restore", "-f=alt.json", "c1"]] {
            let inv = RuntimeInvocation.parse(args)
            #expect(inv.configFile == "alt.json", "\(args)")
            #expect(inv.containerID == "c1", "\(args)")
        }
        #expect(RuntimeInvocation.parse(["create", "-b", "/b", "c1"]).configFile == nil)
        #expect(RuntimeInvocation.parse(["create", "--config=", "c1"]).configFile == "")
    }

    @Test("crun's getopt spellings of bundle and config are read: attached, clustered after -d, abbreviated")
    func crunGetoptSpellings() {
        for (args, bundle, config) in [
            (["create", "-falt.json", "c1"], nil, "alt.json"),
            (["run", "-dfalt.json", "c1"], nil, "alt.json"),
            (["run", "-df", "alt.json", "c1"], nil, "alt.json"),
            (["create", "--conf=alt.json", "c1"], nil, "alt.json"),
            (["create", "--confi", "alt.json", "c1"], nil, "alt.json"),
            (["create", "-b/x", "c1"], "/x", nil),
            (["run", "-db", "/x", "c1"], "/x", nil),
            (["create", "--bund", "/x", "c1"], "/x", nil),
            (["create", "--b=/x", "c1"], "/x", nil),
        ] as [([String], String?, String?)] {
            let inv = RuntimeInvocation.parse(args)
            #expect(inv.bundle == bundle, "\(args)")
            #expect(inv.configFile == config, "\(args)")
            #expect(inv.containerID == "c1", "\(args)")
        }
        // runc's own single-dash long names keep their runc meaning.
        let runc = RuntimeInvocation.parse(["run", "-detach", "-bundle", "/a", "-console-socket", "/s", "c1"])
        #expect(runc.bundle == "/a")
        #expect(runc.configFile == nil)
        #expect(runc.containerID == "c1")
        #expect(RuntimeInvocation.parse(["restore", "-file-locks", "-bundle", "/a", "c1"]).configFile == nil)
        #expect(RuntimeInvocation.parse(["create", "--con", "x", "c1"]).configFile == nil) // ambiguous for crun too
    }

    @Test("an empty bundle value means the working directory, as runc reads it")
    func emptyBundle() {
        #expect(RuntimeInvocation.parse(["create", "--bundle=", "c1"]).bundleDirectory == ".")
        #expect(RuntimeInvocation.parse(["create", "-b", "", "c1"]).bundleDirectory == ".")
        #expect(RuntimeInvocation.parse(["create", "-b", "", "c1"]).containerID == "c1")
    }

    @Test("a trailing valued flag without its value does not crash or invent a command")
    func truncated() {
        #expect(RuntimeInvocation.parse(["--root"]).command == nil)
        #expect(RuntimeInvocation.parse(["create", "--bundle"]).bundle == nil)
    }
}

@Suite("Runtime wrapper: its own options and runtime lookup")
struct WrapperOptionsTests {
    private func env(_ values: [String: String]) -> (String) -> String? { { values[$0] } }

    @Test("leading wrapper options are consumed, runc's arguments kept unchanged")
    func leadingOptions() throws {
        let o = try WrapperOptions.parse(["--runtime", "/usr/bin/crun", "--hook-flag=--selinux=on", "--", "--root", "/r", "create", "x"],
                                         environment: env([:]))
        #expect(o.runtime == "/usr/bin/crun")
        #expect(o.hookFlags == ["--selinux=on"])
        #expect(o.runtimeArguments == ["--root", "/r", "create", "x"])
    }

    @Test("without wrapper options every argument goes to the runtime, even a leading --")
    func passThrough() throws {
        let o = try WrapperOptions.parse(["--root", "/r", "start", "x"], environment: env([:]))
        #expect(o.runtime == nil)
        #expect(o.runtimeArguments == ["--root", "/r", "start", "x"])
        #expect(try WrapperOptions.parse(["--", "--", "x"], environment: env([:])).runtimeArguments == ["--", "x"])
    }

    @Test("environment settings apply and a command-line option overrides SVIRT_RUNTIME")
    func environment() throws {
        let e = env(["SVIRT_RUNTIME": "crun", "SVIRT_HOOK_FLAGS": " --selinux=on\t--contexts /c  "])
        let o = try WrapperOptions.parse(["state", "x"], environment: e)
        #expect(o.runtime == "crun")
        #expect(o.hookFlags == ["--selinux=on", "--contexts", "/c"])
        let over = try WrapperOptions.parse(["--runtime=/x/runc", "--hook-flag", "--no-reserve", "state"], environment: e)
        #expect(over.runtime == "/x/runc")
        #expect(over.hookFlags == ["--selinux=on", "--contexts", "/c", "--no-reserve"])
        #expect(try WrapperOptions.parse([], environment: env(["SVIRT_RUNTIME": ""])).runtime == nil)
    }

    @Test("a wrapper option without its value is a usage error naming it")
    func missingValue() {
        #expect(throws: WrapperOptions.UsageError(description: "option --runtime needs a value")) {
            try WrapperOptions.parse(["--runtime"], environment: { _ in nil })
        }
        #expect(throws: WrapperOptions.UsageError.self) {
            try WrapperOptions.parse(["--hook-flag="], environment: { _ in nil })
        }
    }

    @Test("hook flags the wrapper owns (--help, --version, --bundle, --stage) are usage errors, from the command line or the environment")
    func reservedHookFlags() throws {
        for flag in ["--help", "--version", "--bundle", "--bundle=/x", "--stage", "--stage=prestart"] {
            #expect(throws: WrapperOptions.UsageError.self, "\(flag)") {
                try WrapperOptions.parse(["--hook-flag", flag, "create", "x"], environment: { _ in nil })
            }
            #expect(throws: WrapperOptions.UsageError.self, "\(flag)") {
                try WrapperOptions.parse(["create", "x"], environment: { $0 == "SVIRT_HOOK_FLAGS" ? "--selinux=on \(flag)" : nil })
            }
        }
        let ok = try WrapperOptions.parse(["--hook-flag=--state-dir=/s", "create", "x"], environment: { _ in nil })
        #expect(ok.hookFlags == ["--state-dir=/s"])
    }

    @Test("runtime lookup: a path is used as given; names searched on PATH, runc before crun")
    func candidates() {
        #expect(WrapperOptions.candidatePaths(runtime: "/opt/runc", searchPath: "/bin") == ["/opt/runc"])
        #expect(WrapperOptions.candidatePaths(runtime: "crun", searchPath: "/a:/b/") == ["/a/crun", "/b/crun"])
        #expect(WrapperOptions.candidatePaths(runtime: nil, searchPath: "/a:/b")
            == ["/a/runc", "/b/runc", "/a/crun", "/b/crun"])
    }

    @Test("unset or empty PATH falls back to the system directories; relative entries are never searched")
    func searchPathFallback() {
        let fallback = WrapperOptions.defaultSearchPath.split(separator: ":").map { "\($0)/runc" }
        #expect(WrapperOptions.candidatePaths(runtime: "runc", searchPath: nil) == fallback)
        #expect(WrapperOptions.candidatePaths(runtime: "runc", searchPath: "") == fallback)
        #expect(WrapperOptions.candidatePaths(runtime: "runc", searchPath: ":.:bin:/x") == ["/x/runc"])
    }
}

@Suite("Runtime wrapper: error line for the runtime's log")
struct RuntimeLogLineTests {
    @Test("json format is one JSON object line with the message escaped")
    func json() {
        let line = RuntimeLogLine.error("bad \"x\"\n\u{1}", format: "json", time: "T")
        #expect(line == "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\\u0001\",\"time\":\"T\"}\n")
    }

    @Test("text format follows runc's logrus text layout")
    func text() {
        #expect(RuntimeLogLine.error("m", format: nil, time: "T") == "time=\"T\" level=error msg=\"m\"\n")
    }
}
