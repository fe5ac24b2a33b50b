import Testing
@testable import SVirtRelabel

/// Trust is the one place deciding what a relabel may skip: these pin its
/// rules without a file system.
@Suite("Trust: which stamps, and then which directories, are trusted")
struct TrustTests {
    let label = FileLabel(labelA)
    let now = TreeStamp.Timestamp(seconds: 2_000, nanoseconds: 0)
    var stamp: [UInt8] { TreeStamp(label: label, since: .init(seconds: 1_000, nanoseconds: 0)).encoded }

    func trust(rootLabeled: Bool = true, stamp: [UInt8]?? = nil, keepsStamps: Bool = true, full: Bool = false,
               label: FileLabel? = nil) -> Trust {
        Trust(rootLabeled: rootLabeled, stamp: stamp ?? self.stamp, label: label ?? self.label, now: now,
              keepsStamps: keepsStamps, full: full)
    }

    @Test("a stamp is trusted only with the label on the root, stamps kept, no full read, the same label, and not from the future")
    func treeTrust() {
        #expect(trust().since == .init(seconds: 1_000, nanoseconds: 0))
        #expect(trust(rootLabeled: false).since == nil)
        #expect(trust(keepsStamps: false).since == nil)
        #expect(trust(full: true).since == nil)
        #expect(trust(label: FileLabel(labelB)).since == nil)
        #expect(trust(stamp: .some(nil)).since == nil)
        #expect(trust(stamp: .some(Array("garbage".utf8))).since == nil)
        let future = TreeStamp(label: label, since: .init(seconds: 3_000, nanoseconds: 0)).encoded
        #expect(trust(stamp: .some(future)).since == nil)
    }

    @Test("the root's entries are always read; below it only with no stamp trusted")
    func rootRule() {
        #expect(trust().root == Trust.Directory(labelsEntries: true, verifiesSubtree: false))
        #expect(Trust.none.root == .everything)
    }

    @Test("a subdirectory is read in full below a verified or relabeled one; else by its ctime, and its subtree only if its parent changed too")
    func subdirectoryRule() {
        let t = trust()
        let old = TreeStamp.Timestamp(seconds: 999, nanoseconds: 999_999_999)
        let new = TreeStamp.Timestamp(seconds: 1_000, nanoseconds: 0)
        let unchangedParent = Trust.Directory(labelsEntries: false, verifiesSubtree: false)
        #expect(t.subdirectory(of: .everything, relabeled: false, ctime: { old }) == .everything)
        #expect(t.subdirectory(of: unchangedParent, relabeled: true, ctime: { old }) == .everything)
        #expect(t.subdirectory(of: t.root, relabeled: false, ctime: { old })
            == Trust.Directory(labelsEntries: false, verifiesSubtree: false))
        #expect(t.subdirectory(of: t.root, relabeled: false, ctime: { new }) == .everything)
        #expect(t.subdirectory(of: unchangedParent, relabeled: false, ctime: { new })
            == Trust.Directory(labelsEntries: true, verifiesSubtree: false))
        #expect(t.subdirectory(of: unchangedParent, relabeled: false, ctime: { nil })
            == Trust.Directory(labelsEntries: true, verifiesSubtree: false))
    }
}
