import Foundation
import Glibc
import Synchronization
import Testing
@testable import SVirtRelabel
import SVirtSystem

/// Swaps two names in a directory (renameat2 RENAME_EXCHANGE) until told
/// to stop, counting the swaps that happened.
private final class Swapper: Sendable {
    let directory: String
    let first: String
    let second: String
    let stopFlag = Mutex(false)
    let swaps = Mutex(0)

    init(directory: String, first: String, second: String) {
        self.directory = directory
        self.first = first
        self.second = second
    }

    func loop() {
        guard let dir = try? FileDescriptor.open(directory, .directory) else { return }
        defer { dir.close() }
        while !stopFlag.withLock({ $0 }) {
            let swapped = first.withCString { a in
                second.withCString { b in (try? dir.rename(a, to: b, options: .exchange)) != nil }
            }
            if swapped { swaps.withLock { $0 += 1 } }
        }
    }
}

@Suite("Races: a directory swapped for a symlink to outside while relabeling", .needsRoot)
struct RelabelRaceTests {
    @Test("after 500 relabels under constant dir/symlink swaps no file outside the tree carries a label",
          arguments: [XattrMethod.atCalls, XattrMethod.procPath])
    func swapsCannotRedirectTheWalk(method: XattrMethod) throws {
        let scratch = Scratch()
        // Outside: the same names as inside the swapped directory.
        let outside = scratch.dir("outside")
        let tree = scratch.dir("tree")
        for name in ["a", "b", "c", "d", "e"] {
            scratch.file("outside/\(name)")
            scratch.file("tree/victim/\(name)")
            scratch.file("outside/sub/\(name)")
            scratch.file("tree/victim/sub/\(name)")
        }
        scratch.symlink("tree/shortcut", to: outside)
        let swapper = Swapper(directory: tree, first: "victim", second: "shortcut")
        let thread = Thread { swapper.loop() }
        thread.start()
        var relabeler = Relabeler(threads: 2)
        relabeler.forcedMethod = method
        var failures: [String] = []
        for round in 0..<500 {
            do {
                _ = try relabeler.relabel(tree, to: round % 2 == 0 ? labelA : labelB)
            } catch {
                failures.append(error.description)
            }
        }
        swapper.stopFlag.withLock { $0 = true }
        while !thread.isFinished { usleep(1000) }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        #expect(swapper.swaps.withLock { $0 } > 500)
        #expect(labels(outside, recursive: true).isEmpty)
        // Sanity: the walk did label inside the tree.
        #expect(label(tree) != nil)
    }
}
