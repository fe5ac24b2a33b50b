// The typed OCI views over arbitrary JSON trees: a typed error, or a view
// whose fields are what the tree says.
import FuzzSupport
import SVirtJSON
import SVirtOCI

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    guard let tree = try? JSON.parse(bytes, maxDepth: 32) else { return }
    let document: OCIDocument
    do { document = try OCIDocument(tree) } catch { return }
    switch document {
    case .config(let config): checkConfig(config, tree)
    case .state(let state): checkState(state, tree)
    }
}

/// The tree's own reading of `parent.key`: .some(nil) for absent, null or
/// (with `nonEmpty`) "", nil for a value of another kind.
func string(_ tree: JSONValue, _ parent: String, _ key: String, nonEmpty: Bool = true) -> String?? {
    guard let p = tree[parent], !p.isNull else { return .some(nil) }
    guard case .object(let o) = p else { return nil }
    guard let v = o[key], !v.isNull else { return .some(nil) }
    guard case .string(let s) = v else { return nil }
    return .some(nonEmpty && s.isEmpty ? nil : s)
}

func agrees(_ read: () throws -> String?, _ expected: String??, _ what: String) {
    let got = Result { try read() }
    switch (got, expected) {
    case (.success(let s), .some(let e)): require(s == e, "\(what): view \(String(describing: s)), tree \(String(describing: e))")
    case (.failure, nil): break
    case (.success(let s), nil): fatalError("\(what): view read \(String(describing: s)) from a value of the wrong kind")
    case (.failure(let error), .some(let e)): fatalError("\(what): view failed (\(error)) where the tree says \(String(describing: e))")
    }
}

func checkConfig(_ config: OCIConfig, _ tree: JSONValue) {
    require(config.json == tree, "the config view changed the tree")
    agrees({ try config.processLabel() }, string(tree, "process", "selinuxLabel"), "process.selinuxLabel")
    agrees({ try config.mountLabel() }, string(tree, "linux", "mountLabel"), "linux.mountLabel")
    agrees({ try config.rootPath() }, string(tree, "root", "path"), "root.path")
    agrees({ try config.cgroupsPath() }, string(tree, "linux", "cgroupsPath"), "linux.cgroupsPath")
    if let mounts = try? config.mounts() {
        let items = tree["mounts"]?.arrayValue ?? []
        require(mounts.count == items.count, "mounts: \(mounts.count) views of \(items.count) entries")
        for (mount, item) in zip(mounts, items) {
            require(item["destination"]?.stringValue == mount.destination, "mount destination differs from the tree")
            require(item["source"]?.stringValue == mount.source, "mount source differs from the tree")
            let options = item["options"]?.arrayValue?.compactMap(\.stringValue) ?? []
            require(options == mount.options, "mount options differ from the tree")
        }
    }
    if let annotations = try? config.annotations() {
        let members = tree["annotations"]?.objectValue?.members ?? []
        require(annotations.count == members.count, "annotations: count differs from the tree")
        for (a, m) in zip(annotations, members) {
            require(a.key.utf8.elementsEqual(m.key.utf8) && m.value == .string(a.value), "annotation differs from the tree")
        }
    }
    // Setting the labels changes exactly them.
    var labeled = config
    guard (try? labeled.setMountLabel("m")) != nil else { return }
    require((try? labeled.mountLabel()) == "m", "mountLabel not read back after setting it")
    require((try? labeled.rootPath()) == (try? config.rootPath()), "setting mountLabel changed root.path")
    if config.hasProcess, (try? labeled.setProcessLabel("p")) != nil {
        require((try? labeled.processLabel()) == "p", "selinuxLabel not read back after setting it")
    }
}

func checkState(_ state: OCIState, _ tree: JSONValue) {
    require(tree["id"] == .string(state.id), "state.id differs from the tree")
    require(tree["status"] == .string(state.status), "state.status differs from the tree")
    require(tree["bundle"] == .string(state.bundle) && !state.bundle.isEmpty, "state.bundle differs from the tree")
    if case .number(let text)? = tree["pid"] {
        require(state.pid == Int(text), "state.pid differs from the tree")
    } else {
        require(state.pid == nil, "state.pid read from no number")
    }
}

Fuzzer.run(testOneInput)
