extension JSON {
    /// Writes `value`, an edit of the tree `layout` was recorded from, in
    /// that layout: what the edit left alone comes out as its source bytes,
    /// white space included; a member that went away takes its comma and
    /// its white space with it; a new member gets the separators and the
    /// indentation of its neighbours.
    ///
    /// Only white space ever comes from the layout: every value written is
    /// `value`'s, so the result always parses back to `value`.
    public static func serialize(_ value: JSONValue, over layout: JSONLayout) -> [UInt8] {
        var writer = LayoutWriter(source: layout.source)
        writer.out.reserveCapacity(layout.source.count + 256)
        writer.copy(layout.leading)
        // Each container derives its own style from its layout (writeContainer).
        writer.write(value, old: layout.value, node: layout.root, style: .compact)
        writer.copy(layout.trailing)
        return writer.out
    }
}

private struct LayoutWriter {
    let source: [UInt8]
    var out: [UInt8] = []

    /// How far ahead an array element is looked for before the one in front
    /// is taken as edited: the hook's edits are an element or two per
    /// array, and the bound keeps a hostile 100,000-element array linear.
    static let lookAhead = 8

    mutating func copy(_ range: Range<Int>) {
        out.append(contentsOf: source[range])
    }

    mutating func write(_ new: JSONValue, old: JSONValue, node: JSONLayout.Node, style: JSON.Style) {
        switch node {
        case .scalar(let span):
            if new == old { copy(span) } else { JSON.writeFresh(new, into: &out, style: style) }
        case .container(let container):
            switch (new, old) {
            case (.array(let newElements), .array(let oldElements)):
                let pairs = Self.matchElements(newElements, oldElements)
                writeContainer(open: "[", close: "]", pairs: pairs, container: container, style: style) { writer, k, oldIndex, style in
                    let element = newElements[k]
                    if let oldIndex {
                        writer.write(element, old: oldElements[oldIndex], node: container.items[oldIndex].value, style: style)
                    } else {
                        JSON.writeFresh(element, into: &writer.out, style: style)
                    }
                }
            case (.object(let newObject), .object(let oldObject)):
                let newMembers = newObject.members, oldMembers = oldObject.members
                let pairs = Self.matchMembers(newMembers, oldMembers)
                writeContainer(open: "{", close: "}", pairs: pairs, container: container, style: style) { writer, k, oldIndex, style in
                    let member = newMembers[k]
                    if let oldIndex {
                        let item = container.items[oldIndex]
                        writer.copy(item.key!)
                        writer.copy(item.colon!)
                        writer.write(member.value, old: oldMembers[oldIndex].value, node: item.value, style: style)
                    } else {
                        JSON.writeString(member.key, into: &writer.out)
                        writer.out += style.colon
                        JSON.writeFresh(member.value, into: &writer.out, style: style)
                    }
                }
            default:
                JSON.writeFresh(new, into: &out, style: style)
            }
        }
    }

    /// Brackets, commas and white space around the members; `member`
    /// writes the k-th new member (its key too, in an object), given the
    /// old member it stands in for, if any.
    mutating func writeContainer(
        open: Unicode.Scalar, close: Unicode.Scalar, pairs: [Int?],
        container: JSONLayout.Container, style inherited: JSON.Style,
        member: (inout LayoutWriter, Int, Int?, JSON.Style) -> Void
    ) {
        let style = self.style(of: .container(container), inheriting: inherited)
        let items = container.items
        out.append(UInt8(ascii: open))
        var position = 0
        for (k, oldIndex) in pairs.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            if let oldIndex { position = oldIndex }
            if k == 0, let first = items.first {
                copy(first.before)
            } else if let oldIndex, oldIndex > 0 {
                copy(items[oldIndex].before)
            } else if items.count > 1 {
                // A new member, or the old first one moved down: its
                // nearest neighbour's break.
                copy(items[min(max(position, 1), items.count - 1)].before)
            } else {
                out += (k == 0 && !style.newline) ? [] : style.memberBreak
            }
            member(&self, k, oldIndex, style.child)
            if k < pairs.count - 1, let oldIndex, oldIndex < items.count - 1 {
                copy(items[oldIndex].after)
            }
        }
        if items.isEmpty {
            if pairs.isEmpty { copy(container.closing) } else { out += style.closingBreak }
        } else if !pairs.isEmpty {
            copy(container.closing)
        }
        out.append(UInt8(ascii: close))
    }

    /// For each new object member, the first old member with its key
    /// after the last one matched (byte for byte, as keys compare): linear,
    /// however many members went away.
    static func matchMembers(_ new: [(key: String, value: JSONValue)], _ old: [(key: String, value: JSONValue)]) -> [Int?] {
        var byKey: [[UInt8]: [Int]] = [:]
        for (i, member) in old.enumerated() { byKey[Array(member.key.utf8), default: []].append(i) }
        var cursor: [[UInt8]: Int] = [:]
        var next = 0
        return new.map { member in
            let key = Array(member.key.utf8)
            guard let indices = byKey[key] else { return nil }
            var c = cursor[key] ?? 0
            while c < indices.count && indices[c] < next { c += 1 }
            cursor[key] = c
            guard c < indices.count else { return nil }
            next = indices[c] + 1
            return indices[c]
        }
    }

    /// For each new array element, the old one it stands in for: the same
    /// one, or, when nothing near is the same, the one in its place, taken
    /// as edited (elements have no key to tell them by); nil for one that
    /// is new. Old elements no one stands in for were removed.
    static func matchElements(_ new: [JSONValue], _ old: [JSONValue]) -> [Int?] {
        var pairs: [Int?] = []
        pairs.reserveCapacity(new.count)
        var i = 0
        for j in new.indices {
            if i < old.count, new[j] == old[i] {
                pairs.append(i); i += 1
            } else if let k = (i..<min(old.count, i + lookAhead)).dropFirst().first(where: { new[j] == old[$0] }) {
                pairs.append(k); i = k + 1
            } else if i < old.count, !(j..<min(new.count, j + lookAhead)).dropFirst().contains(where: { new[$0] == old[i] }) {
                pairs.append(i); i += 1
            } else {
                pairs.append(nil)
            }
        }
        return pairs
    }

    /// The style fresh members of `node` are written in: its own when it
    /// has members to learn from, else the one it inherits.
    func style(of node: JSONLayout.Node, inheriting inherited: JSON.Style) -> JSON.Style {
        guard case .container(let container) = node, let first = container.items.first else { return inherited }
        var style = inherited
        if let colon = first.colon { style.colon = Array(source[colon]) }
        let before = source[first.before]
        if let newline = before.lastIndex(of: 0x0A) {
            style.newline = true
            style.lineBreak = newline > before.startIndex && source[newline - 1] == 0x0D ? [0x0D, 0x0A] : [0x0A]
            let childIndent = Array(before[(newline + 1)...])
            let closing = source[container.closing]
            if let closingNewline = closing.lastIndex(of: 0x0A) {
                style.indent = Array(closing[(closingNewline + 1)...])
            }
            if childIndent.starts(with: style.indent) {
                // Members at their container's own column: no unit at all.
                style.unit = Array(childIndent[style.indent.count...])
            } else if style.unit.isEmpty {
                style.unit = [0x09]
            }
        } else {
            style.newline = false
            if container.items.count > 1 {
                style.separator = Array(source[container.items[1].before])
            } else if !before.isEmpty || first.colon.map({ source[$0].last == 0x20 }) == true {
                // One member to learn from, written with spaces: `{ "a": 1 }`.
                style.separator = [0x20]
            }
        }
        return style
    }
}
