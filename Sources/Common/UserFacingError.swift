/// An error meant for people: what every module's errors give the CLI, which
/// prints it as one `run-with-keys: error: <message>` line, then one
/// `run-with-keys: hint: <hint>` line per hint, and exits with `exitCode`.
///
/// `main` catches this protocol once; code that needs to tell failures apart
/// switches on the conforming type's typed cases or kinds, never on `message`.
/// The message and hints name files, keys and secrets, never a secret's value.
public protocol UserFacingError: Error {
    /// One line, lowercase, no final period, e.g. `profiles/bot.toml: [keys] bad secret name "a b" (line 4)`.
    var message: String { get }
    /// What to do about it, one line each; empty when there is nothing to add.
    var hints: [String] { get }
    /// The process exit code: 125 (`ExitCodes.failure`) unless the error says otherwise.
    var exitCode: Int32 { get }
}

extension UserFacingError {
    /// No hints, unless the conforming type gives some.
    public var hints: [String] { [] }
    /// 125 (`ExitCodes.failure`), unless the conforming type gives another code.
    public var exitCode: Int32 { ExitCodes.failure }
}

/// The exit codes run-with-keys itself uses (the bot's own code passes through;
/// 128+N means the bot died of signal N). The conventions of env(1) and tini.
public enum ExitCodes {
    /// run-with-keys failed before the bot ran.
    public static let failure: Int32 = 125
    /// The bot's program exists but can't be executed.
    public static let cannotExecute: Int32 = 126
    /// The bot's program was not found.
    public static let notFound: Int32 = 127
}
