import Testing
import SVirtJSON
import SVirtOCI
import SVirtSELinux
@testable import SVirtHook
import SVirtPaths

/// A file system of symlinks for the rules to be judged on: realpath(3) as
/// a table (nil: does not exist).
private let links: [String: String] = [
    "/srv/volumes": "/srv/volumes",
    "/srv/volumes/db": "/srv/volumes/db",
    "/srv/volumes/db/private": "/srv/volumes/db/private",
    "/srv/volumes/web": "/srv/volumes/web",
    "/home/u/db-link": "/srv/volumes/db",
    "/srv/volumes/escape": "/var/lib/other",
    "/data/vols": "/srv/volumes",
    "/other": "/other",
]

private func draft(_ mounts: String, rules: [SourceRule], annotations: String = "{}") throws -> Plan {
    let text = #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"annotations":\#(annotations),"mounts":\#(mounts)}"#
    let settings = HookSettings(baseDirectory: "/bundle", sourceRules: rules)
    let d = try Planner.plan(config: config(text), settings: settings, policy: testPolicy, paths: PathFacts(realPath: { links[$0] }))
    return try Apply.complete(d, allocator: { RecordingAllocator() })
}

private func bind(_ destination: String, _ source: String, _ options: [String] = ["rbind", "rprivate"]) -> String {
    #"{"destination":"\#(destination)","type":"bind","source":"\#(source)","options":[\#(options.map { "\"\($0)\"" }.joined(separator: ","))]}"#
}

private let Zrule = try! SourceRule(parsing: "/srv/volumes=Z")

@Suite("Admin relabel rules (--relabel-source)")
struct SourceRuleTests {
    @Test("DIR=z|Z parses; a relative DIR, /, or another mode is a usage error")
    func parsing() throws {
        #expect(try SourceRule(parsing: "/srv/volumes/=z") == SourceRule(directory: "/srv/volumes", mode: .shared))
        #expect(try SourceRule(parsing: "/a=b=Z") == SourceRule(directory: "/a=b", mode: .private))
        for bad in ["srv=Z", "/=Z", "//=z", "/srv=x", "/srv", "/srv="] {
            #expect(code { _ = try SourceRule(parsing: bad) } == .usage, "\(bad)")
        }
    }

    @Test("a Docker volume (options rewritten to rbind,rprivate) under the rule's directory is relabeled, confined to it")
    func dockerVolumeMatched() throws {
        let p = try draft("[\(bind("/db", "/srv/volumes/db")), \(bind("/o", "/other"))]", rules: [Zrule])
        #expect(p.relabels == [RelabelTarget(destination: "/db", source: "/srv/volumes/db",
                                             label: "system_u:object_r:container_file_t:s0:c7,c42", mode: .private,
                                             within: "/srv/volumes")])
    }

    @Test("judged after symlink resolution: a link into the directory matches, a link out of it does not")
    func judgedOnResolvedPath() throws {
        let into = try draft("[\(bind("/db", "/home/u/db-link"))]", rules: [Zrule])
        #expect(into.relabels.map(\.source) == ["/srv/volumes/db"])
        let out = try draft("[\(bind("/e", "/srv/volumes/escape"))]", rules: [Zrule])
        #expect(out.relabels.isEmpty)
    }

    @Test("the rule's own directory is resolved too")
    func ruleDirectoryResolved() throws {
        let p = try draft("[\(bind("/db", "/srv/volumes/db"))]", rules: [try SourceRule(parsing: "/data/vols=z")])
        #expect(p.relabels.map(\.within) == ["/srv/volumes"])
        #expect(p.relabels.map(\.label) == ["system_u:object_r:container_file_t:s0"])
    }

    @Test("the longest matching directory wins, whatever the order of the rules")
    func mostSpecificRuleWins() throws {
        let rules = [try SourceRule(parsing: "/srv/volumes/db=z"), Zrule]
        let p = try draft("[\(bind("/p", "/srv/volumes/db/private")), \(bind("/w", "/srv/volumes/web"))]", rules: rules)
        #expect(p.relabels.map(\.mode) == [.shared, .private])
        #expect(p.relabels.map(\.within) == ["/srv/volumes/db", "/srv/volumes"])
    }

    @Test("what the container asked for wins over a rule: its z, and its annotation; a rule adds no within to them")
    func containerRequestWins() throws {
        let z = try draft("[\(bind("/db", "/srv/volumes/db", ["rbind", "z"]))]", rules: [Zrule])
        #expect(z.relabels.map(\.mode) == [.shared])
        #expect(z.relabels.map(\.within) == [nil])
        let annotated = try draft("[\(bind("/db", "/srv/volumes/db"))]", rules: [Zrule],
                                  annotations: #"{"io.svirt.relabel":"/db:z"}"#)
        #expect(annotated.relabels.map(\.mode) == [.shared])
    }

    @Test("non-bind mounts and sources that do not resolve are left alone")
    func nonBindAndMissing() throws {
        let tmpfs = #"{"destination":"/t","type":"tmpfs","source":"/srv/volumes/db"}"#
        let p = try draft("[\(tmpfs), \(bind("/m", "/srv/volumes/missing"))]", rules: [Zrule])
        #expect(p.relabels.isEmpty)
    }

    @Test("without rules the file system is not asked at all")
    func noRulesNoResolve() throws {
        let text = #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"mounts":[\#(bind("/db", "/srv/volumes/db"))]}"#
        var asked = 0
        _ = try Planner.plan(config: config(text), settings: HookSettings(baseDirectory: "/b"), policy: testPolicy,
                             paths: PathFacts(realPath: { asked += 1; return $0 }))
        #expect(asked == 0)
    }

    @Test("the relabeler gets the rule's directory as its confinement; a container's own z/Z none")
    func applyPassesConfinement() throws {
        let relabeler = RecordingRelabeler()
        let text = #"{"ociVersion":"1","process":{},"root":{"path":"/r"},"mounts":[\#(bind("/db", "/srv/volumes/db")),\#(bind("/o", "/other", ["rbind", "Z"]))]}"#
        let d = try Planner.plan(config: config(text), settings: HookSettings(baseDirectory: "/b", sourceRules: [Zrule]),
                                 policy: testPolicy, paths: PathFacts(realPath: { links[$0] }))
        _ = try Apply.run(d, allocator: { RecordingAllocator() }, relabeler: { () throws(HookError) -> any MountRelabeler in relabeler })
        #expect(relabeler.calls.map(\.source) == ["/srv/volumes/db", "/other"])
        #expect(relabeler.confinements == ["/srv/volumes", nil])
    }
}

@Suite("Absolute by the first byte")
struct AbsoluteByByteTests {
    @Test("a destination or rule whose / is followed by a combining mark is absolute, as the kernel sees it (found by fuzz-relabel-list)")
    func slashThenCombiningMark() throws {
        let entries = try Request.parseRelabels("//\u{325}:Z")
        #expect(entries.map(\.destination) == ["/\u{325}"])
        #expect(entries.allSatisfy { LexicalPath.isAbsolute($0.destination) })
        #expect(try SourceRule(parsing: "/\u{325}srv=z").directory == "/\u{325}srv")
    }
}
