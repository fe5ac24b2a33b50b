/// One MLS/MCS level: a sensitivity and a set of categories, e.g. `s0:c143,c901`.
///
/// Parsed from and printed in the kernel's canonical raw form, so two
/// spellings of one level (`s0:c1,c2,c3` and `s0:c0.c3` minus c0) compare
/// equal and reservation keys do not depend on how a user wrote a level.
public struct MCSLevel: Hashable, Sendable, CustomStringConvertible {
    public var sensitivity: Int
    /// Sorted, without duplicates.
    public private(set) var categories: [Int]

    /// The highest category number SELinux policies define (c0..c1023).
    public static let maxCategory = 1023

    public init(sensitivity: Int = 0, categories: some Sequence<Int>) {
        self.sensitivity = sensitivity
        self.categories = Array(Set(categories)).sorted()
    }

    /// Parses `sN` or `sN:CATS` where CATS is a comma list of `cN` or
    /// `cN.cM` ranges. Returns nil for anything else (including ranges
    /// `low-high`, which are `MLSRange`'s business).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let sens = Self.number(parts[0], prefix: "s") else { return nil }
        var cats: [Int] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let bounds = item.split(separator: ".", omittingEmptySubsequences: false)
                switch bounds.count {
                case 1:
                    guard let c = Self.number(bounds[0], prefix: "c"), c <= Self.maxCategory else { return nil }
                    cats.append(c)
                case 2:
                    guard let lo = Self.number(bounds[0], prefix: "c"), let hi = Self.number(bounds[1], prefix: "c"),
                          lo < hi, hi <= Self.maxCategory else { return nil }
                    cats.append(contentsOf: lo...hi)
                default:
                    return nil
                }
            }
        }
        self.init(sensitivity: sens, categories: cats)
    }

    /// `sN:cA,cB`, with runs of three or more written `cA.cB` as the kernel does.
    public var description: String {
        guard !categories.isEmpty else { return "s\(sensitivity)" }
        var out = "s\(sensitivity):"
        var i = 0
        while i < categories.count {
            var j = i
            while j + 1 < categories.count && categories[j + 1] == categories[j] + 1 { j += 1 }
            if i > 0 { out += "," }
            if j - i >= 2 {
                out += "c\(categories[i]).c\(categories[j])"
            } else {
                out += (i...j).map { "c\(categories[$0])" }.joined(separator: ",")
            }
            i = j + 1
        }
        return out
    }

    /// Whether this level dominates `other` (same or higher sensitivity and a
    /// superset of its categories), the relation MCS constraints check.
    public func dominates(_ other: MCSLevel) -> Bool {
        sensitivity >= other.sensitivity && Set(categories).isSuperset(of: other.categories)
    }

    private static func number(_ text: some StringProtocol, prefix: Character) -> Int? {
        guard text.first == prefix else { return nil }
        let digits = text.dropFirst()
        // Int("+1") parses; SELinux does not, so accept ASCII digits only.
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        // Policy names its sensitivities and categories s0, c12, never
        // s09 or c012: the kernel would refuse such a level, so we must not
        // read it as s9 and hand it on.
        guard digits.count == 1 || digits.first != "0" else { return nil }
        return Int(digits)
    }
}

/// The categories a labeler may draw from, e.g. c0.c1023 from the caller's
/// own context `s0-s0:c0.c1023`.
public struct CategoryRange: Hashable, Sendable, CustomStringConvertible {
    public let lower: Int
    public let upper: Int

    public static let full = CategoryRange(lower: 0, upper: MCSLevel.maxCategory)

    public init(lower: Int, upper: Int) {
        precondition(0 <= lower && lower <= upper && upper <= MCSLevel.maxCategory, "invalid category range")
        self.lower = lower
        self.upper = upper
    }

    /// Parses `cA.cB` with A <= B, as `reserve --range` takes it.
    public init?(_ text: some StringProtocol) {
        let bounds = text.split(separator: ".", omittingEmptySubsequences: false)
        guard bounds.count == 2,
              let lower = MCSLevel("s0:\(bounds[0])")?.categories.first,
              let upper = MCSLevel("s0:\(bounds[1])")?.categories.first,
              bounds.allSatisfy({ !$0.contains(",") && !$0.contains(":") }),
              lower <= upper else { return nil }
        self.init(lower: lower, upper: upper)
    }

    public var count: Int { upper - lower + 1 }
    public func contains(_ category: Int) -> Bool { lower <= category && category <= upper }
    public var description: String { "c\(lower).c\(upper)" }
}
