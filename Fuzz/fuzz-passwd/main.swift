// /etc/passwd, for the invoking user's home.
import FuzzSupport
import SVirtSystem

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let users = PasswordFile.parse(text)
    // Bytes, as the parser and the path checks judge them: "/" followed by
    // a combining mark is one Character, and would fail hasPrefix("/").
    for user in users { require(user.home.utf8.first == UInt8(ascii: "/"), "home \(user.home) is not absolute") }
    // A real line among the input's lines is found, whatever surrounds it:
    // name and home made of the input's bytes without ':' and newlines.
    let clean = text.utf8.filter { $0 != UInt8(ascii: ":") && $0 != 0x0A }
    let name = String(decoding: clean.prefix(16), as: UTF8.self)
    let home = "/" + String(decoding: clean, as: UTF8.self)
    guard !name.isEmpty else { return }
    let file = text + "\n\(name):x:4242:4242:gecos:\(home):/bin/sh\n" + text
    require(PasswordFile.parse(file).contains(PasswordFile.User(name: name, uid: 4242, home: home)),
            "user \(name) with home \(home) not found")
}

Fuzzer.run(testOneInput)
