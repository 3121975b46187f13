import Glibc

/// How a child ended.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// Exited on its own (WIFEXITED); the exit code, 0-255 (WEXITSTATUS).
    case exited(Int32)
    /// Killed by a signal (WIFSIGNALED); the signal number (WTERMSIG).
    case signaled(Int32)

    /// What a shell reports: the code, or 128+N for signal N.
    public var shellCode: Int32 {
        switch self {
        case let .exited(code): return code
        case let .signaled(signal): return 128 + signal
        }
    }

    /// Decodes a waitpid status (WIFEXITED/WTERMSIG are macros Swift cannot see).
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// "exited with code N" or "killed by signal N", for logs and the launch log's exit records.
    public var description: String {
        switch self {
        case let .exited(code): return "exited with code \(code)"
        case let .signaled(signal): return "killed by signal \(signal)"
        }
    }
}
