import CFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer over `callback` with this program's arguments, as its
/// own main would (SwiftPM gives each executable a main, so libFuzzer's
/// cannot be the one that runs).
public enum Fuzzer {
    public static func run(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }

    /// The input as bytes (libFuzzer may pass a null pointer for none).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// A property a fuzz target checks; a violation stops the run with the
/// input saved, as a crash would.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #file, line: UInt = #line) {
    if !condition() { fatalError("property violated: \(message())", file: file, line: line) }
}
