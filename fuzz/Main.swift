// The libFuzzer entry point shared by every target. Each target is this file
// plus one file of fuzz/targets/ that defines `fuzzTarget(_:)`; fuzz/run.sh
// builds them with `swiftc -sanitize=fuzzer,address`. Not part of the Swift package.
//
// Beyond "does not crash", every target checks properties of what the parser
// accepts (round trips, invariants of the result); `check` aborts on a failed
// one, so libFuzzer saves the input as a crash.

/// Aborts the run with `what` when a property fails.
@inline(never) func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError("fuzz property failed: \(what())") }
}

/// Whether a message is one of `dotenv line N: <fixed text>` (no input bytes in it).
func isLineMessage(_ message: String, prefix: String, texts: [String]) -> Bool {
    guard message.hasPrefix(prefix) else { return false }
    let rest = message.dropFirst(prefix.count)
    guard let colon = rest.firstIndex(of: ":"), !rest[..<colon].isEmpty,
          rest[..<colon].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
    return texts.contains(String(rest[rest.index(after: colon)...].dropFirst()))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzTarget(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
