/// A small command-line scanner shared by the modes (here rather than in
/// the executable so that their parsing can be unit tested): `--name value`,
/// `--name=value`, boolean `--name`, and positional words. Hand-written
/// rather than swift-argument-parser to keep start-up free of Foundation.
public struct Arguments: Sendable {
    public struct UsageError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public private(set) var positional: [String] = []
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// `valued` names options that take a value, `booleans` those that do not.
    /// Anything else starting with `-` is a usage error naming it.
    public init(_ words: [String], valued: Set<String>, booleans: Set<String>) throws(UsageError) {
        var i = 0
        var onlyPositional = false
        while i < words.count {
            let word = words[i]
            i += 1
            if onlyPositional || !word.hasPrefix("-") || word == "-" {
                positional.append(word)
                continue
            }
            if word == "--" {
                onlyPositional = true
                continue
            }
            let name: String
            var inline: String?
            if let eq = word.firstIndex(of: "=") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            } else {
                name = word
            }
            if valued.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                } else {
                    guard i < words.count else { throw UsageError(description: "option \(name) needs a value") }
                    values[name, default: []].append(words[i])
                    i += 1
                }
            } else if booleans.contains(name) {
                if inline != nil { throw UsageError(description: "option \(name) takes no value") }
                flags.insert(name)
            } else {
                throw UsageError(description: "unknown option \(name) (see --help)")
            }
        }
    }

    /// The last value given: a later flag overrides an earlier one (the
    /// registration's, then SVIRT_HOOK_FLAGS', then the command line's).
    public func value(_ name: String) -> String? { values[name]?.last }
    /// Every value, in order, for options that add up.
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { flags.contains(name) }
}
