// /proc/self/mountinfo lines, with the kernel's octal escapes.
import FuzzSupport
import SVirtRelabel

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

/// The kernel's mangle(): space, tab, newline and backslash as \ooo.
func escape(_ path: [UInt8]) -> [UInt8] {
    path.flatMap { byte -> [UInt8] in
        guard [0x20, 0x09, 0x0A, 0x5C].contains(byte) else { return [byte] }
        return [0x5C, 0x30 + (byte >> 6), 0x30 + (byte >> 3 & 7), 0x30 + (byte & 7)]
    }
}

func check(_ bytes: [UInt8]) {
    // Any text: every entry read is a line's first fields.
    let entries = MountTable.parse(bytes)
    require(entries.count <= bytes.split(separator: 0x0A).count, "more entries than lines")
    // A line the kernel would write for a path made of the input (any
    // bytes but NUL: UTF-8 or not) reads back that path, among lines of junk.
    guard !bytes.isEmpty, !bytes.contains(0) else { return }
    let path = [0x2F] + bytes
    let mountPoint = [0x2F] + escape(bytes)
    let line = Array("36 35 98:0 /".utf8) + escape(bytes) + [0x20] + mountPoint + Array(" rw,noatime - ext4 /dev/x rw".utf8)
    let table = Array("junk\n\n1 2\n".utf8) + line + Array("\n37 36 0:1 / /b rw - tmpfs t rw\n".utf8)
    let read = MountTable.parse(table)
    guard let entry = read.first(where: { $0.id == 36 }) else { fatalError("escaped line not read") }
    require(entry.parent == 35 && entry.device == "98:0", "escaped line read with other numbers")
    require(entry.root.bytes == path && entry.mountPoint.bytes == path, "path \(path) reads back as \(entry.mountPoint.bytes)")
    require(read.contains(where: { $0.id == 37 && $0.mountPoint == "/b" }), "line after the escaped one lost")
}

Fuzzer.run(testOneInput)
