// Label text: podman's label options, contexts, MCS levels, category
// ranges, and the levels drawn from a range. What parses prints back.
import FuzzSupport
import SVirtSELinux

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(Fuzzer.bytes(data, size))
    return 0
}

func check(_ bytes: [UInt8]) {
    drawLevels(bytes)
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    if let context = SecurityContext(text) {
        require(context.description == text, "context \(text) prints as \(context)")
        require(SecurityContext(context.description) == context, "context does not parse back")
    }
    if let level = MCSLevel(text) {
        require(level.categories == Array(Set(level.categories)).sorted(), "level categories not sorted and unique")
        require(level.categories.allSatisfy { (0...MCSLevel.maxCategory).contains($0) }, "level category out of range")
        require(MCSLevel(level.description) == level, "level \(text) prints as \(level), which parses to another level")
        require(MCSLevel(level.description)?.description == level.description, "level's printed form is not canonical")
        require(!text.utf8.split(whereSeparator: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: ".") })
            .contains(where: { $0.count > 2 && ($0.first == UInt8(ascii: "c") || $0.first == UInt8(ascii: "s")) && $0.dropFirst().first == UInt8(ascii: "0") }),
            "level \(text) with a leading zero accepted: policy names no such category")
    }
    if let range = CategoryRange(text) {
        require(range.description == text, "range \(text) prints as \(range)")
    }
    if let range = HostPolicy.categoryRange(ofContext: text) {
        require(range.lower <= range.upper && range.upper <= MCSLevel.maxCategory, "caller range out of bounds")
    }
    // (No options at all, as from `nested` alone, have no text of their own.)
    if let options = try? LabelOptions(parsing: text), !options.isEmpty {
        let rendered = render(options)
        let again: LabelOptions
        do { again = try LabelOptions(parsing: rendered) } catch {
            fatalError("options \(text) render as \(rendered), which does not parse: \(error)")
        }
        require(again == options, "options \(text) render as \(rendered), which parses to other options")
    }
}

/// Options in io.svirt.label's own spelling.
func render(_ options: LabelOptions) -> String {
    var parts: [String] = []
    if options.disable { parts.append("disable") }
    if let v = options.user { parts.append("user:\(v)") }
    if let v = options.role { parts.append("role:\(v)") }
    if let v = options.type { parts.append("type:\(v)") }
    if let v = options.level { parts.append("level:\(v)") }
    if let v = options.fileType { parts.append("filetype:\(v)") }
    return parts.joined(separator: ",")
}

/// Two category numbers make a range; the rest feeds the random words.
func drawLevels(_ bytes: [UInt8]) {
    guard bytes.count >= 4 else { return }
    let a = Int(bytes[0]) << 8 | Int(bytes[1]), b = Int(bytes[2]) << 8 | Int(bytes[3])
    let lower = min(a, b) % (MCSLevel.maxCategory + 1), upper = max(a, b) % (MCSLevel.maxCategory + 1)
    guard lower < upper else { return }
    let range = CategoryRange(lower: lower, upper: upper)
    var words = bytes.dropFirst(4).makeIterator()
    var supplied = 0
    let level = LevelDraw.randomPair(in: range) { () -> UInt32 in
        supplied += 1
        // Past the input, a counter: the draw must end whatever it is fed.
        guard let w = words.next() else { return UInt32(truncatingIfNeeded: supplied &* 2_654_435_761) }
        return UInt32(w) << 24 | UInt32(truncatingIfNeeded: supplied)
    }
    require(level.categories.count == 2, "drawn level \(level) has not two categories")
    require(level.categories[0] < level.categories[1], "drawn level \(level) not c1 < c2")
    require(level.categories.allSatisfy(range.contains), "drawn level \(level) outside \(range)")
}

Fuzzer.run(testOneInput)
