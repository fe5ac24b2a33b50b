import Foundation
import Testing
@testable import SVirtSELinux

@Suite("LXCContexts")
struct LXCContextsTests {
    @Test("reads process, file, ro_file and content; quotes optional; sandbox keys ignored")
    func reads() throws {
        let text = """
        # comment
        ; another comment
        process = "system_u:system_r:container_t:s0"
          content = system_u:object_r:virt_var_lib_t:s0
        file="system_u:object_r:container_file_t:s0"\r
        ro_file = "system_u:object_r:container_ro_file_t:s0"
        sandbox_kvm_process = "system_u:system_r:container_kvm_t:s0"

        """
        let c = try LXCContexts(parsing: text)
        #expect(c.process.type == "container_t")
        #expect(c.file.type == "container_file_t")
        #expect(c.readOnlyFile?.type == "container_ro_file_t")
        #expect(c.content?.type == "virt_var_lib_t")
    }

    @Test("the bundled example file parses")
    func example() throws {
        let text = try String(contentsOfFile: packageRoot + "/examples/lxc_contexts", encoding: .utf8)
        let c = try LXCContexts(parsing: text)
        #expect(c.process.description == "system_u:system_r:container_t:s0")
    }

    @Test("a line without '=' is an error naming its line number")
    func badLine() {
        #expect(throws: LXCContexts.ParseError(line: 2, message: "expected key = \"context\", found \"oops\"")) {
            try LXCContexts(parsing: "process = \"u:r:t:s0\"\noops\nfile = \"u:object_r:f:s0\"")
        }
    }

    @Test("a malformed context is an error naming key and line")
    func badContext() {
        #expect(throws: LXCContexts.ParseError(line: 1, message: "process: malformed context \"u:r\"")) {
            try LXCContexts(parsing: "process = \"u:r\"\nfile = \"u:object_r:f:s0\"")
        }
    }

    @Test("missing process or file is an error")
    func missing() {
        #expect(throws: LXCContexts.ParseError.self) { try LXCContexts(parsing: "file = \"u:object_r:f:s0\"") }
        #expect(throws: LXCContexts.ParseError.self) { try LXCContexts(parsing: "process = \"u:r:t:s0\"") }
    }
}

/// The package's root directory, from this file's path, so tests do not
/// depend on the working directory.
let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()
