import Testing
import TestSupport
import SVirtSELinux
@testable import SVirtAllocation

@Suite("EntryName and record text")
struct EntryNameTests {
    static let tricky = [
        "a", "A", "a/b", "a%2Fb", "a%2fb", "%", "%25", ".", "..", "...", ".hidden", "a.b", "a..b", "~", "~x",
        "a b", "a\nb", "a\u{0}b", "ü", "日本", "-", "_", "s0:c1,c2", "io.kubernetes.cri.sandbox-id:4f1c",
        "/var/lib/containers/storage/overlay/0123/merged", String(repeating: "x", count: 200),
        String(repeating: "x", count: 201), String(repeating: "/", count: 67), String(repeating: "/", count: 68),
        String(repeating: "y", count: 300) + "1", String(repeating: "y", count: 300) + "2",
    ]

    @Test("distinct keys get distinct names, none of which can leave the directory or look like a temporary")
    func injectiveAndSafe() {
        var rng = SplitMix(seed: 7)
        var inputs = Set(Self.tricky)
        let alphabet = Array("a/%.~2F ".unicodeScalars)
        for _ in 0..<5000 {
            let length = Int(rng.next() % 12) + 1
            inputs.insert(String(String.UnicodeScalarView((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })))
        }
        var seen: [String: String] = [:]
        for input in inputs {
            let name = EntryName.encode(input)
            #expect(seen[name] == nil, "\(input.debugDescription) and \(seen[name]?.debugDescription ?? "") share \(name)")
            seen[name] = input
            #expect(!name.contains("/"))
            #expect(!name.hasPrefix("."))
            #expect(!name.isEmpty || input.isEmpty)
            #expect(name.utf8.count <= 255)
            if !name.hasPrefix("~") { #expect(EntryName.decode(name) == input) }
        }
    }

    @Test("names past the length limit are hashed, and the hash is SHA-256")
    func hashing() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = String(repeating: "z", count: 1000)
        #expect(EntryName.encode(long) == "~" + SHA256.hex(Array(long.utf8)))
        #expect(EntryName.encode("s0:c1,c2") == "s0:c1,c2")
    }

    @Test("a record round-trips any key and root, and a damaged record is refused, not guessed")
    func recordText() throws {
        let record = KeyRecord(key: "k e%y\nwith newline", level: try #require(.init("s0:c3,c900")), since: 42,
                               roots: ["/a b/c", "/ü%\t"])
        #expect(try KeyRecord(parsing: record.bytes) == record)
        let bytes = record.bytes
        #expect(throws: KeyRecord.ParseError.self) { try KeyRecord(parsing: Array(bytes.dropLast())) }
        #expect(throws: KeyRecord.ParseError.self) { try KeyRecord(parsing: Array(bytes.dropFirst())) }
        #expect(throws: KeyRecord.ParseError.self) { try KeyRecord(parsing: Array("svirt-hook reservation 1\nkey x\n".utf8)) }
        #expect(throws: KeyRecord.ParseError.self) { try KeyRecord(parsing: [0xff, 0xfe]) }
    }
}


@Suite("KeyRecord: the holder line")
struct KeyRecordHolderTests {
    @Test("a holder round-trips escaped; a record without one (older versions) still parses")
    func holderRoundTrip() throws {
        let level = try #require(MCSLevel("s0:c3,c900"))
        let record = KeyRecord(key: "root:/r", level: level, since: 1, roots: ["/r"], holder: "pod team a/web\n1")
        #expect(String(decoding: record.bytes, as: UTF8.self).contains("holder pod%20team%20a/web%0A1\n"))
        #expect(try KeyRecord(parsing: record.bytes) == record)
        let old = Array("svirt-hook reservation 1\nkey root:/r\nlevel s0:c3,c900\nsince 1\nroot /r\n".utf8)
        #expect(try KeyRecord(parsing: old).holder == nil)
    }

    @Test("a holder that does not decode is dropped: it is for people, never a reason to call the record corrupt")
    func badHolderDropped() throws {
        let bytes = Array("svirt-hook reservation 1\nkey k\nlevel s0:c1,c2\nholder %zz\n".utf8)
        let record = try KeyRecord(parsing: bytes)
        #expect(record.holder == nil)
        #expect(record.key == "k")
    }

    @Test("adding: a new root or a first holder changes the record; a second holder does not rename it")
    func addingFirstHolderWins() throws {
        var record = KeyRecord(key: "k", level: try #require(MCSLevel("s0:c1,c2")), since: 1, roots: ["/r"])
        #expect(record.adding(rootPath: "/r", holder: nil) == false)
        #expect(record.adding(rootPath: "/r", holder: "podman abc") == true)
        #expect(record.adding(rootPath: "/r", holder: "podman other") == false)
        #expect(record.holder == "podman abc")
        #expect(record.adding(rootPath: "/s", holder: nil) == true)
        #expect(record.roots == ["/r", "/s"])
    }
}
