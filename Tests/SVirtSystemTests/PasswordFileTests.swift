import Testing
@testable import SVirtSystem

@Suite("PasswordFile")
struct PasswordFileTests {
    @Test("a GECOS field starting with a combining mark does not hide the user's home")
    func combiningMarkInGecos() {
        let users = PasswordFile.parse("bob:x:1001:1001:\u{301}Bob:/home/bob:/bin/sh\n")
        #expect(users.map(\.home) == ["/home/bob"])
        #expect(users.map(\.uid) == [1001])
    }

    @Test("passwd lines give name, uid and home; malformed lines and relative homes are skipped")
    func parse() {
        let text = """
        root:x:0:0:root:/root:/bin/bash
        # a comment
        alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
        broken:x:notanumber:1:x:/home/b:/bin/sh
        short:x:5
        odd:x:7:7::relative:/bin/sh
        +nisuser::::::
        """
        let users = PasswordFile.parse(text)
        #expect(users == [
            .init(name: "root", uid: 0, home: "/root"),
            .init(name: "alice", uid: 1000, home: "/home/alice"),
        ])
    }

    @Test("this machine's root entry is found in /etc/passwd")
    func realFile() {
        #expect(PasswordFile.load().contains { $0.uid == 0 && $0.home == "/root" })
    }
}
