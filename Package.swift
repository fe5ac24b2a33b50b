// swift-tools-version:6.0
// svirt-hook: sVirt (MCS) labels for OCI containers, as a standalone hook.
//
// One target per concern so each compiles and tests on its own; none of the
// library targets imports Foundation, because the hook runs on every container
// start and Foundation costs milliseconds of start-up (see ARCHITECTURE.md).
import PackageDescription

// SVIRT_VERSION / SVIRT_GIT_COMMIT, set by the Makefile's build and release
// targets, become C string defines of CVersion only (Sources/CVersion/version.c
// says why there). They are written into a C string literal unescaped, so
// anything but a version's or commit's characters is refused.
let versionDefines: [CSetting] = ["SVIRT_VERSION", "SVIRT_GIT_COMMIT"].compactMap { name in
    guard let value = Context.environment[name], !value.isEmpty else { return nil }
    guard value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+~_-".contains($0)) }) else {
        fatalError("\(name) may hold only letters, digits and . + ~ _ -, not \(value)")
    }
    return .define(name, to: "\"\(value)\"")
}

let package = Package(
    name: "svirt-hook",
    products: [
        .executable(name: "svirt-hook", targets: ["svirt-hook"]),
    ],
    targets: [
        // libselinux from Debian's libselinux1-dev: host policy facts.
        .systemLibrary(
            name: "CSELinux",
            pkgConfig: "libselinux",
            providers: [.apt(["libselinux1-dev"])]
        ),
        // Linux calls Swift's Glibc module does not import (renameat2, syscall).
        .systemLibrary(name: "CLinux"),
        // The version --version prints: make passes VERSION and the git commit
        // in the environment, a plain `swift build` gets version.c's fallback.
        .target(name: "CVersion", cSettings: versionDefines),
        // Every system call, in swift-system's shape: FileDescriptor methods,
        // OptionSet flags, EINTR retried in one place, Errno thrown.
        .target(name: "SVirtSystem", dependencies: ["CLinux", "SVirtPaths"]),
        // FilePath: a path's bytes as the kernel gives them, and their lexical
        // rules (normalize, relative, inside); pure.
        .target(name: "SVirtPaths"),
        // Order-preserving JSON tree; numbers kept as their source text.
        .target(name: "SVirtJSON"),
        // Context, MCSLevel, category ranges, lxc_contexts, label options, host facts.
        .target(name: "SVirtSELinux", dependencies: ["CSELinux", "SVirtSystem"]),
        // Typed views over config.json and the runtime state.
        .target(name: "SVirtOCI", dependencies: ["SVirtJSON"]),
        // On-disk MCS level reservations, unique across processes.
        .target(name: "SVirtAllocation", dependencies: ["SVirtSystem", "SVirtSELinux", "SVirtPaths"]),
        // fd-relative, symlink-safe, parallel relabel of a tree.
        .target(name: "SVirtRelabel", dependencies: ["SVirtSystem", "SVirtPaths"]),
        // The pipeline: input bytes -> plan -> apply, against the collaborator
        // protocols it declares. It imports no module that does I/O of its own
        // (the store, the relabeler, the system layer).
        .target(name: "SVirtHook", dependencies: ["SVirtJSON", "SVirtSELinux", "SVirtOCI", "SVirtPaths"]),
        // The pipeline's collaborators on a real host: the reservation store as
        // its allocator, the walker as its relabeler, their progress lines.
        .target(name: "SVirtHost", dependencies: ["SVirtHook", "SVirtAllocation", "SVirtRelabel", "SVirtSELinux"]),
        .executableTarget(name: "svirt-hook", dependencies: [
            "CVersion", "SVirtHook", "SVirtHost", "SVirtPaths", "SVirtAllocation", "SVirtSELinux", "SVirtJSON", "SVirtOCI", "SVirtSystem", "SVirtRelabel",
        ]),
        // Drives the relabeler alone, for bench/relabel and the relabel race test.
        .executableTarget(name: "svirt-relabel-bench", dependencies: ["SVirtRelabel"]),

        // A seeded generator the randomised tests share (test code only).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SVirtSystemTests", dependencies: ["SVirtSystem"]),
        .testTarget(name: "SVirtPathsTests", dependencies: ["SVirtPaths"]),
        .testTarget(name: "SVirtJSONTests", dependencies: ["SVirtJSON"]),
        .testTarget(name: "SVirtSELinuxTests", dependencies: ["SVirtSELinux", "TestSupport"]),
        .testTarget(name: "SVirtOCITests", dependencies: ["SVirtOCI", "SVirtJSON"]),
        .testTarget(name: "SVirtAllocationTests", dependencies: ["SVirtAllocation", "SVirtSELinux", "SVirtSystem", "TestSupport"]),
        .testTarget(name: "SVirtRelabelTests", dependencies: ["SVirtRelabel", "SVirtPaths", "SVirtSystem"]),
        .testTarget(name: "SVirtHookTests", dependencies: [
            "SVirtHook", "SVirtHost", "SVirtAllocation", "SVirtSELinux", "SVirtOCI", "SVirtJSON", "SVirtRelabel", "SVirtPaths",
        ]),
        // Runs the built binary (and real runc/podman/containerd when present).
        .testTarget(name: "IntegrationTests", dependencies: ["SVirtJSON", "TestSupport"], exclude: ["Fixtures", "cri"]),
    ]
)

// libFuzzer targets, one per parser (`make fuzz`, Fuzz/README.md), with
// their support; declared only when SVIRT_FUZZ is set, since they build only
// with -sanitize=fuzzer.
if Context.environment["SVIRT_FUZZ"] != nil {
    package.targets += [
        .systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Fuzz/FuzzSupport"),
    ]
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-json", ["SVirtJSON"]),
        ("fuzz-oci", ["SVirtJSON", "SVirtOCI"]),
        ("fuzz-label", ["SVirtSELinux"]),
        ("fuzz-relabel-list", ["SVirtHook", "SVirtPaths"]),
        ("fuzz-lxc-contexts", ["SVirtSELinux"]),
        ("fuzz-mountinfo", ["SVirtRelabel"]),
        ("fuzz-passwd", ["SVirtSystem"]),
        ("fuzz-runtime-args", ["SVirtHook"]),
    ]
    for target in fuzzTargets {
        package.targets.append(.executableTarget(
            name: target.name, dependencies: ["FuzzSupport"] + target.dependencies, path: "Fuzz/\(target.name)",
            // gold crashes on these links; lld does not.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]))
    }
}
