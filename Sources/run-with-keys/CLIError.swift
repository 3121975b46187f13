import Glibc
import Common
import CSys
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
    /// While the supervisor has our terminal raw (a bot on a pty, Terminal.swift),
    /// a line must return the carriage itself.
    static var eol: String { rwk_tty_is_raw() != 0 ? "\r\n" : "\n" }

    static func error(_ message: String, hints: [String] = []) {
        var text = "run-with-keys: error: \(message)\(eol)"
        for h in hints { text += "run-with-keys: hint: \(h)\(eol)" }
        Sys.writeAll(2, text)
    }

    static func warning(_ message: String) { Sys.writeAll(2, "run-with-keys: warning: \(message)\(eol)") }
    static func hint(_ message: String) { Sys.writeAll(2, "run-with-keys: hint: \(message)\(eol)") }
    static func info(_ message: String) { Sys.writeAll(2, "run-with-keys: \(message)\(eol)") }
    static func out(_ text: String) { Sys.writeAll(1, text) }
    static func out(bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Sys.writeAll(1, $0) } }
}
