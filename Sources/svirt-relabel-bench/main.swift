import Glibc
@_spi(Bench) import SVirtRelabel

func complain(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

// Drives SVirtRelabel alone, for bench/relabel and the race test:
//   svirt-relabel-bench [--threads N] [--read-first] [--full] DIR LABEL
// --read-first: read before every write even on a first pass (WritePolicy).
// --full: read every entry, not trusting the tree's stamp (TreeStamp).
// Prints "visited V changed C unread U warnings W" and exits 0, or the error and 7
// (the relabel exit code of svirt-hook).
var arguments = Array(CommandLine.arguments.dropFirst())
var threads = 0
var readFirst = false
var full = false
while let flag = arguments.first, flag.hasPrefix("--") {
    if flag == "--read-first" {
        readFirst = true
        arguments.removeFirst()
    } else if flag == "--full" {
        full = true
        arguments.removeFirst()
    } else if flag == "--threads", arguments.count >= 2, let n = Int(arguments[1]), n >= 0 {
        threads = n
        arguments.removeFirst(2)
    } else {
        break
    }
}
guard arguments.count == 2 else {
    complain("usage: svirt-relabel-bench [--threads N] [--read-first] [--full] DIR LABEL")
    exit(2)
}
do {
    var relabeler = Relabeler(threads: threads, policy: nil, alwaysReadFirst: readFirst)
    relabeler.full = full
    let report = try relabeler.relabel(arguments[0], to: arguments[1])
    for warning in report.warnings { complain("svirt-relabel-bench: warning: \(warning)") }
    print("visited \(report.visited) changed \(report.changed) unread \(report.unread) warnings \(report.warnings.count)")
    exit(0)
} catch {
    complain("svirt-relabel-bench: \(error)")
    exit(7)
}
