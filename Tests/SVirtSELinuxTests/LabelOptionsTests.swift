import Testing
@testable import SVirtSELinux

@Suite("LabelOptions")
struct LabelOptionsTests {
    @Test("each option of podman's vocabulary lands in its field")
    func vocabulary() throws {
        let o = try LabelOptions(parsing: "user:sysadm_u,role:sysadm_r,type:spc_t,filetype:svirt_image_t,level:s0:c1,c2")
        #expect(o.user == "sysadm_u")
        #expect(o.role == "sysadm_r")
        #expect(o.type == "spc_t")
        #expect(o.fileType == "svirt_image_t")
        #expect(o.level == "s0:c1,c2")
        #expect(!o.disable)
    }

    @Test("podman's nested option is accepted and changes no label field")
    func nested() throws {
        #expect(try LabelOptions(parsing: "nested") == LabelOptions())
        let o = try LabelOptions(parsing: "nested,label=type:spc_t")
        #expect(o.type == "spc_t")
        #expect(throws: LabelOptions.ParseError.self) { try LabelOptions(parsing: "nested:yes") }
    }

    @Test("disable, alone or with podman's label= prefix")
    func disable() throws {
        #expect(try LabelOptions(parsing: "disable").disable)
        #expect(try LabelOptions(parsing: "label=disable").disable)
    }

    @Test("podman's joined annotation form type:spc_t,label=level:s0:c5,c6")
    func podmanJoined() throws {
        let o = try LabelOptions(parsing: "type:spc_t,label=level:s0:c5,c6")
        #expect(o.type == "spc_t")
        #expect(o.level == "s0:c5,c6")
    }

    @Test("a level in the middle keeps its commas and the next option still parses")
    func levelInMiddle() throws {
        let o = try LabelOptions(parsing: "level:s0:c1,c2,c3.c5,type:x_t")
        #expect(o.level == "s0:c1,c2,c3.c5")
        #expect(o.type == "x_t")
    }

    @Test("unknown options are errors naming the option", arguments: [
        ("nest", "nest"), ("type:spc_t,bogus", "bogus"), ("foo:bar", "foo:bar"), ("type:a,c5", "c5"),
    ])
    func unknown(text: String, named: String) {
        do {
            _ = try LabelOptions(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains("\"\(named)\""))
        }
    }

    @Test("empty values and bad levels are errors", arguments: ["type:", "level:s0:c1,", "level:x", "type:a b", ""])
    func badValues(text: String) {
        #expect(throws: LabelOptions.ParseError.self) { try LabelOptions(parsing: text) }
    }
}
