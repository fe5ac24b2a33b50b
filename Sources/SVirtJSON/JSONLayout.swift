/// Where each value of a parsed document sat in its source bytes, and the
/// white space around it: what `JSON.serialize(_:over:)` needs to write an
/// edited tree back with only the edits changed.
///
/// A hand-written config.json that `--bundle` rewrote onto one line, or
/// re-indented, is a diff nobody asked for; so the hook keeps everything it
/// did not change byte for byte, and writes what it adds in the manner of
/// the neighbours.
public struct JSONLayout: Sendable {
    /// The document's bytes; every range below indexes into them.
    let source: [UInt8]
    /// What the layout was recorded from, to tell edited values apart.
    let value: JSONValue
    let root: Node
    /// White space before and after the root value.
    let leading: Range<Int>
    let trailing: Range<Int>

    indirect enum Node: Sendable {
        /// A string, number, literal, or a container copied whole: its text.
        case scalar(Range<Int>)
        case container(Container)
    }

    /// An array or object: its members in source order and the white space
    /// between its last member (or its open bracket) and its close bracket.
    struct Container: Sendable {
        var items: [Item]
        var closing: Range<Int>
    }

    /// One element or member with the white space that surrounds it.
    struct Item: Sendable {
        /// After the open bracket or the comma, before the key or value.
        var before: Range<Int>
        /// An object member's key text, quotes included.
        var key: Range<Int>?
        /// From the key's closing quote to the value: white space, ':',
        /// white space.
        var colon: Range<Int>?
        var value: Node
        /// Between the value and the comma that follows it; empty for the
        /// last item, whose trailing white space is the container's closing.
        var after: Range<Int>
    }
}

/// A parsed document that remembers its layout.
public struct JSONDocument: Sendable {
    public let value: JSONValue
    public let layout: JSONLayout
}

extension JSON {
    /// Parses like `parse`, and also records the layout so that an edited
    /// tree can be written back in it.
    public static func parseDocument(_ bytes: [UInt8], maxDepth: Int = 512) throws(JSONError) -> JSONDocument {
        let (value, layout) = try parse(bytes, maxDepth: maxDepth, recordingLayout: true)
        return JSONDocument(value: value, layout: layout!)
    }
}
