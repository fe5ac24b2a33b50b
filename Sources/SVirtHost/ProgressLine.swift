import SVirtRelabel

/// The text of a relabel's progress and summary lines, from counts alone
/// (pure, so the terminal line, the syslog line and the tests agree).
public enum ProgressLine {
    /// "1200 entries (300 changed), 4000/s, 0:03 elapsed, about 0:05 left".
    /// The time left is given only with a total the walk is not past yet:
    /// without one, any figure would be invented (trees differ by orders
    /// of magnitude), and a total the walk has passed was an undercount.
    public static func format(done: Int, changed: Int, elapsed: Double, total: Int?) -> String {
        var parts = ["\(done) entries" + (changed > 0 ? " (\(changed) changed)" : "")]
        let rate = self.rate(done, elapsed)
        if let rate { parts.append("\(Int(rate.rounded()))/s") }
        parts.append("\(duration(elapsed)) elapsed")
        if let total, total > done, let rate, rate > 0 {
            parts.append("about \(duration(Double(total - done) / rate)) left")
        }
        return parts.joined(separator: ", ")
    }

    public static func format(_ progress: RelabelProgress) -> String {
        format(done: progress.done, changed: progress.changed, elapsed: progress.elapsed, total: progress.total)
    }

    /// The hook's syslog line for a relabel still running.
    public static func hookLine(_ path: String, _ progress: RelabelProgress) -> String {
        "relabeling \(path): \(format(progress))"
    }

    /// The line after a finished relabel: "2001 entries, 2001 changed,
    /// 0.42 s, 4764 entries/s".
    public static func summary(entries: Int, changed: Int, elapsed: Double) -> String {
        let rate = self.rate(entries, elapsed).map { ", \(Int($0.rounded())) entries/s" } ?? ""
        return "\(entries) entries, \(changed) changed, \(seconds(elapsed)) s\(rate)"
    }

    /// nil before any time has passed that a rate could be taken over.
    static func rate(_ count: Int, _ elapsed: Double) -> Double? {
        elapsed >= 0.001 ? Double(count) / elapsed : nil
    }

    /// "0:07", "12:05", "1:02:03".
    static func duration(_ seconds: Double) -> String {
        let total = seconds.isFinite ? max(0, Int(seconds.rounded())) : 0
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
    }

    /// Two decimals, without Foundation's formatting.
    static func seconds(_ value: Double) -> String {
        let hundredths = value.isFinite ? max(0, Int((value * 100).rounded())) : 0
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
