import Foundation
import Testing

/// runc 1.1 by hand: `svirt-hook --bundle DIR && runc run ID`, and runc's own
/// hooks in config.json calling svirt-hook at createRuntime and poststop.
@Suite("runc with svirt-hook", .serialized, .enabled(if: Tool.missing(["runc", "busybox"], root: true) == nil))
final class RuncHooksTests {
    let dir: TemporaryDirectory
    let runc: String
    let bundle: String
    let root: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "runc")
        runc = Tool.path("runc")!
        bundle = dir.file("bundle")
        root = dir.file("runc-root")
        try makeRootfs(at: bundle + "/rootfs")
        try run(runc, ["spec", "--bundle", bundle])
        var config = try jsonObject(file: bundle + "/config.json")
        var process = config["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = ["sh", "-c", "echo in-container"]
        config["process"] = process
        try writeJSON(config, to: bundle + "/config.json")
        // Records each hook's stdin (the state) per stage.
        try dir.write("record", """
        #!/bin/sh
        cat > \(dir.file("state-"))"$1".json
        """, executable: true)
    }

    deinit {
        for id in ["svirt-it-hooks", "svirt-it-bundle", "svirt-it-closed"] {
            _ = try? run(runc, ["--root", root, "delete", "--force", id])
        }
    }

    private func addHooks(_ flags: [String]) throws {
        var config = try jsonObject(file: bundle + "/config.json")
        func entry(_ stage: String) -> [[String: Any]] {
            [["path": Paths.binary, "args": ["svirt-hook", "--stage", stage, "--state-dir", dir.file("state")] + flags],
             ["path": dir.file("record"), "args": ["record", stage]]]
        }
        config["hooks"] = ["createRuntime": entry("createRuntime"), "poststop": entry("poststop")]
        try writeJSON(config, to: bundle + "/config.json")
    }

    private func runcRun(_ id: String) throws -> RunResult {
        try run(runc, ["--root", root, "run", "--bundle", bundle, id])
    }

    @Test("hooks in config.json: runc runs svirt-hook at createRuntime and poststop with the state on stdin")
    func hooksGetState() throws {
        try addHooks([])
        let result = try runcRun("svirt-it-hooks")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "in-container\n")
        for (stage, status) in [("createRuntime", "creating"), ("poststop", "stopped")] {
            let state = try jsonObject(file: dir.file("state-\(stage).json"))
            #expect(state["id"] as? String == "svirt-it-hooks")
            #expect(state["bundle"] as? String == bundle)
            #expect(state["status"] as? String == status, "\(stage)")
        }
    }

    @Test("svirt-hook --bundle then runc run: runc is handed the labels (and, SELinux being off here, refuses them)")
    func bundleThenRunc() throws {
        let labeled = try hook(labelFlags + ["--no-reserve", "--bundle", bundle])
        #expect(labeled.status == 0, "\(labeled.stderr)")
        expectLabeled(try jsonObject(file: bundle + "/config.json"))
        let result = try runcRun("svirt-it-bundle")
        // The labeled run itself is proven in the SELinux guest (Tests/e2e).
        #expect(result.status != 0)
        #expect(result.stderr.contains("selinux label is specified in config"), "\(result.stderr)")
    }

    @Test("--require-label at createRuntime: an unlabeled bundle is refused and the container never runs (fail closed)")
    func requireLabelFailsClosed() throws {
        try addHooks(labelFlags + ["--require-label"])
        let result = try runcRun("svirt-it-closed")
        #expect(result.status != 0)
        #expect(!result.stdoutText.contains("in-container"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("state-createRuntime.json")), "hooks after ours ran")
    }
}
