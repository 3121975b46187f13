import Common
import Glibc

/// Everything that can go wrong while planning or starting a child.
///
/// `description` is one line for people, e.g.
/// `setuid to 1000 failed: Operation not permitted`.
public enum LaunchError: UserFacingError, Equatable, CustomStringConvertible {
    /// A step of the spawn failed, in the parent or in the child before execve.
    /// `context` says what was attempted, e.g. `chdir to "/srv/bot"`.
    case spawn(stage: SpawnStage, errno: Int32, context: String)
    /// A libc or libseccomp call in the parent failed.
    case system(call: String, errno: Int32)
    /// A syscall name libseccomp does not know; `origin` says where it came from.
    case unknownSyscall(name: String, origin: String)
    /// A line of a seccomp policy file that is not understood; `origin` is `path:line`.
    case policy(origin: String, message: String)
    /// A seccomp policy file others could have written (`Profile.trustProblem`):
    /// `message` names owners and modes, `fix` is the one command that fixes it.
    case untrusted(path: String, message: String, fix: String)
    /// A user name no account has, or a uid out of range (past uid_t, or 4294967295: (uid_t)-1); as given.
    case unknownUser(String)
    /// A group name no group has, or a number that is no valid gid; as given.
    case unknownGroup(String)
    /// A `SpawnRequest` refused before anything starts (empty argv, a NUL, clashing fds, …); what is wrong.
    case invalidRequest(String)

    /// One line for people: what failed and strerror(3) of its errno, or what is wrong.
    public var description: String {
        switch self {
        case let .spawn(_, errno, context): return "\(context) failed: \(errorString(errno))"
        case let .system(call, errno): return "\(call) failed: \(errorString(errno))"
        case let .unknownSyscall(name, origin): return "unknown syscall \"\(name)\" in \(origin)"
        case let .policy(origin, message): return "\(origin): \(message)"
        case let .untrusted(path, message, _): return "\(path): \(message)"
        case let .unknownUser(name): return "unknown user \"\(name)\""
        case let .unknownGroup(name): return "unknown group \"\(name)\""
        case let .invalidRequest(message): return "invalid spawn request: \(message)"
        }
    }

    /// `description`: the error line's text, without the `run-with-keys: error: ` prefix (no hints).
    public var message: String { description }

    /// The stage that failed, for `.spawn` errors.
    public var stage: SpawnStage? {
        if case let .spawn(stage, _, _) = self { return stage }
        return nil
    }

    /// The exit code the CLI reports: 127 when the program was not found, 126
    /// when it could not be executed, 125 when run-with-keys itself failed.
    public var exitCode: Int32 {
        guard case let .spawn(.execve, errno, _) = self else { return ExitCodes.failure }
        return errno == ENOENT ? ExitCodes.notFound : ExitCodes.cannotExecute
    }
}

func errorString(_ errno: Int32) -> String { String(cString: strerror(errno)) }

/// The one place where "-1 and errno" becomes a thrown error; retries EINTR.
/// `package`: Supervisor's syscalls go through it too. `@inlinable`, so that it is
/// specialized where it is called: unspecialized, each call reached `T`'s integer
/// conformance through the runtime (0.035 ms of a supervisor's setup).
@inlinable @discardableResult
package func sys<T: BinaryInteger>(_ call: @autoclosure () -> String, _ body: () -> T) throws(LaunchError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw .system(call: call(), errno: code)
    }
}
