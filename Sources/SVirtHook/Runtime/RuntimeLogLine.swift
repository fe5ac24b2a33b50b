/// One error record in the runtime's own log format. containerd (go-runc)
/// and CRI-O report a failed `create` with the last `"level":"error"` line of
/// the file given by `--log`, so a labeling failure written there reaches the
/// user of `ctr`/`crictl` instead of a bare "exit status 3".
public enum RuntimeLogLine {
    /// `format` is runc's `--log-format` (`json`, or `text` by default);
    /// `time` an RFC 3339 timestamp supplied by the caller.
    public static func error(_ message: String, format: String?, time: String) -> String {
        if format == "json" {
            return "{\"level\":\"error\",\"msg\":\(quoted(message)),\"time\":\(quoted(time))}\n"
        }
        return "time=\(quoted(time)) level=error msg=\(quoted(message))\n"
    }

    /// A JSON string literal (also valid as a logrus text value).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
