import Glibc
import Common
import Vault

/// An error of the CLI's own: one line, then hints. Exit 125 unless said otherwise.
struct CLIError: UserFacingError {
    var message: String
    var hints: [String] = []
    var exitCode: Int32 = 125

    init(_ message: String, hints: [String] = [], exitCode: Int32 = ExitCodes.failure) {
        self.message = message
        self.hints = hints
        self.exitCode = exitCode
    }

    init(_ e: any UserFacingError) { self.init(e.message, hints: e.hints, exitCode: e.exitCode) }
}

enum Output {
    static func error(_ message: String, hints: [String] = []) {
        var text = "run-with-keys: error: \(message)\n"
        for h in hints { text += "run-with-keys: hint: \(h)\n" }
        Sys.writeAll(2, text)
    }

    static func warning(_ message: String) { Sys.writeAll(2, "run-with-keys: warning: \(message)\n") }
    static func hint(_ message: String) { Sys.writeAll(2, "run-with-keys: hint: \(message)\n") }
    static func info(_ message: String) { Sys.writeAll(2, "run-with-keys: \(message)\n") }
    static func out(_ text: String) { Sys.writeAll(1, text) }
    static func out(bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Sys.writeAll(1, $0) } }
}
