import Foundation
import Testing
@testable import SVirtJSON

/// `text` parsed, edited by `edit`, and written back over its own layout.
private func rewrite(_ text: String, _ edit: (inout JSONValue) -> Void = { _ in }) throws -> String {
    let document = try JSON.parseDocument(Array(text.utf8))
    var value = document.value
    edit(&value)
    return String(decoding: JSON.serialize(value, over: document.layout), as: UTF8.self)
}

private extension JSONValue {
    /// Edits the object at `path` (member names), which must exist.
    mutating func edit(_ path: [String], _ change: (inout JSONObject) -> Void) {
        guard case .object(var object) = self else { return }
        if let first = path.first {
            var child = object[first]!
            child.edit(Array(path.dropFirst()), change)
            object[first] = child
        } else {
            change(&object)
        }
        self = .object(object)
    }
}

@Suite("JSON layout: an edited config keeps its layout")
struct JSONLayoutTests {
    @Test("an unchanged document writes back byte for byte, whatever its white space",
          arguments: [
              "{\n\t\"a\": 1,\n\t\"b\": [1, 2 ,3]\n}\n",
              "  {\"a\"  :  \"\\u00e9\\/x\" , \"n\":1e400}  ",
              "{\r\n    \"a\": {\r\n        \"b\": []\r\n    }\r\n}",
              "[ ]", "{ }", "\"just a string\"", " 18446744073709551616 ",
          ])
    func unchangedIsByteForByte(_ text: String) throws {
        #expect(try rewrite(text) == text)
    }

    @Test("a value set in place changes only that value's text")
    func valueSetInPlace() throws {
        let text = "{\n    \"process\" : {\"cwd\":\"/\",  \"args\": [\"sh\"]},\n    \"x\": 1\n}"
        let out = try rewrite(text) { $0.edit(["process"]) { $0["cwd"] = .string("/work") } }
        #expect(out == "{\n    \"process\" : {\"cwd\":\"/work\",  \"args\": [\"sh\"]},\n    \"x\": 1\n}")
    }

    @Test("a new member takes its neighbours' indentation and separators",
          arguments: [
              ("{\n\t\"a\": 1,\n\t\"b\": 2\n}", "{\n\t\"a\": 1,\n\t\"b\": 2,\n\t\"label\": \"s0\"\n}"),
              ("{\n    \"a\": 1\n}", "{\n    \"a\": 1,\n    \"label\": \"s0\"\n}"),
              ("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2, \"label\": \"s0\"}"),
              ("{\"a\":1}", "{\"a\":1,\"label\":\"s0\"}"),
          ])
    func newMemberLikeNeighbours(_ input: String, _ expected: String) throws {
        #expect(try rewrite(input) { $0.edit([]) { $0["label"] = .string("s0") } } == expected)
    }

    @Test("a new nested object is indented one level deeper than its parent, in the parent's unit")
    func newNestedObject() throws {
        let text = "{\n  \"process\": {\n    \"cwd\": \"/\"\n  }\n}\n"
        let out = try rewrite(text) {
            $0.edit([]) { $0["linux"] = .object(JSONObject([("mountLabel", .string("s0")), ("x", .array([.null]))])) }
        }
        #expect(out == "{\n  \"process\": {\n    \"cwd\": \"/\"\n  },\n  \"linux\": {\n    \"mountLabel\": \"s0\",\n    \"x\": [\n      null\n    ]\n  }\n}\n")
    }

    @Test("a member added to an empty object is indented from the object's parent")
    func memberIntoEmptyObject() throws {
        let text = "{\n\t\"linux\": {},\n\t\"z\": 0\n}"
        let out = try rewrite(text) { $0.edit(["linux"]) { $0["mountLabel"] = .string("s0") } }
        #expect(out == "{\n\t\"linux\": {\n\t\t\"mountLabel\": \"s0\"\n\t},\n\t\"z\": 0\n}")
    }

    @Test("a removed z option leaves the rest of its line alone",
          arguments: [
              ("[\"rbind\", \"z\", \"ro\"]", "[\"rbind\", \"ro\"]"),
              ("[\"z\", \"rbind\"]", "[\"rbind\"]"),
              ("[\"rbind\", \"Z\"]", "[\"rbind\"]"),
              ("[\n\t\t\"rbind\",\n\t\t\"Z\"\n\t]", "[\n\t\t\"rbind\"\n\t]"),
              ("[\"Z\"]", "[]"),
          ])
    func removedOption(_ options: String, _ expected: String) throws {
        let text = "{\"mounts\": [{\"destination\": \"/data\", \"options\": \(options)}], \"next\": true}"
        let out = try rewrite(text) { value in
            guard case .object(var root) = value, case .array(var mounts)? = root["mounts"],
                  case .object(var mount) = mounts[0], case .array(let opts)? = mount["options"] else { return }
            mount["options"] = .array(opts.filter { $0 != .string("z") && $0 != .string("Z") })
            mounts[0] = .object(mount)
            root["mounts"] = .array(mounts)
            value = .object(root)
        }
        #expect(out == "{\"mounts\": [{\"destination\": \"/data\", \"options\": \(expected)}], \"next\": true}")
    }

    @Test("a removed member takes its comma and line with it, first, middle or last")
    func removedMember() throws {
        let text = "{\n\t\"a\": 1,\n\t\"b\": 2,\n\t\"c\": 3\n}"
        #expect(try rewrite(text) { $0.edit([]) { $0["a"] = nil } } == "{\n\t\"b\": 2,\n\t\"c\": 3\n}")
        #expect(try rewrite(text) { $0.edit([]) { $0["b"] = nil } } == "{\n\t\"a\": 1,\n\t\"c\": 3\n}")
        #expect(try rewrite(text) { $0.edit([]) { $0["c"] = nil } } == "{\n\t\"a\": 1,\n\t\"b\": 2\n}")
    }

    @Test("a string edited to a canonically equal spelling is written anew, not copied")
    func canonicallyEqualStringIsAnEdit() throws {
        let out = try rewrite("[\"\\u00e9\"]") { $0 = .array([.string("e\u{301}")]) }
        #expect(Array(out.utf8) == Array("[\"e\u{301}\"]".utf8))
    }

    /// Every single-member edit of a real config: removing it, replacing
    /// its value with another kind, adding a sibling after it.
    @Test("every single edit of the podman fixture parses back to exactly the edited tree")
    func everyEditParsesBack() throws {
        let bytes = try fixture("podman-4.3.1-config.json")
        let document = try JSON.parseDocument(bytes)
        var checked = 0
        for path in objectPaths(document.value) {
            for change in 0..<3 {
                var value = document.value
                value.edit(Array(path.dropLast())) { object in
                    let key = path.last!
                    switch change {
                    case 0: object[key] = nil
                    case 1: object[key] = .array([.string("x"), .object(JSONObject([("k", .number("1"))]))])
                    default: object.members.append(("added", .object(JSONObject([("a", .bool(true))]))))
                    }
                }
                let written = JSON.serialize(value, over: document.layout)
                #expect(try JSON.parse(written) == value, "edit \(change) at \(path.joined(separator: "."))")
                checked += 1
            }
        }
        #expect(checked > 100)
    }
}

/// The member paths of every object member in `value`, outside arrays.
private func objectPaths(_ value: JSONValue, prefix: [String] = []) -> [[String]] {
    guard case .object(let object) = value else { return [] }
    return object.members.flatMap { member in
        [prefix + [member.key]] + objectPaths(member.value, prefix: prefix + [member.key])
    }
}

private func fixture(_ name: String) throws -> [UInt8] {
    let path = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
    return Array(try Data(contentsOf: URL(fileURLWithPath: "/" + path + "/IntegrationTests/Fixtures/" + name)))
}

@Suite("JSON layout: what a review found")
struct JSONLayoutReviewTests {
    @Test("a CRLF document gets CRLF in what is added, nested ones too")
    func crlf() throws {
        #expect(try rewrite("{\r\n    \"a\": 1\r\n}") { $0.edit([]) { $0["b"] = .array([.number("2")]) } }
                == "{\r\n    \"a\": 1,\r\n    \"b\": [\r\n        2\r\n    ]\r\n}")
    }

    @Test("members at column 0 get new ones at column 0, not a tab")
    func unindented() throws {
        #expect(try rewrite("{\n\"a\": 1\n}") { $0.edit([]) { $0["b"] = .number("2") } } == "{\n\"a\": 1,\n\"b\": 2\n}")
    }

    @Test("a one-member container written with spaces gets a space after the new comma")
    func spacedSingle() throws {
        #expect(try rewrite("{ \"a\": 1 }") { $0.edit([]) { $0["b"] = .number("2") } } == "{ \"a\": 1, \"b\": 2 }")
    }

    @Test("removing many leading members keeps the survivors' own bytes")
    func manyRemoved() throws {
        let keys = (0..<12).map { "k\($0)" }
        let text = "{" + keys.map { "\"\($0)\": 1, " }.joined() + "\"i\": { \"x\" :  1 }}"
        #expect(try rewrite(text) { $0.edit([]) { o in for k in keys { o[k] = nil } } } == "{\"i\": { \"x\" :  1 }}")
    }
}
