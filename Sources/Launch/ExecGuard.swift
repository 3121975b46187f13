import CSys
import CSeccomp
import Glibc

/// Enforces no_exec: owns the seccomp user-notification listener of a child
/// whose execve and execveat are routed to the parent.
///
/// Until the spawn has seen the child's own exec succeed, execve calls from
/// that pid continue (one per PATH candidate); every later one, from the bot
/// or any descendant, fails with EPERM. Call `handleOne()` whenever `fd` is
/// readable or hung up (an epoll loop can own it); a notification nobody answers blocks
/// the caller's execve, and once the listener is closed they fail with ENOSYS.
public final class ExecGuard {
    /// What `handleOne()` did with one notification.
    public enum Decision: Equatable, Sendable {
        /// The child's own exec, let through.
        case continued
        /// A later execve/execveat, refused with EPERM.
        case denied(pid: pid_t)
        /// The caller died or was interrupted before we answered, or no
        /// process uses the filter any more.
        case gone
    }

    /// The seccomp user-notification listener (seccomp_unotify(2)), owned by the guard and closed when it
    /// is freed. Once `retired`, the same number holds a descriptor that never becomes ready.
    public let fd: Int32
    /// The bot's pid in our PID namespace, as the notifications name it: the one process whose execve
    /// calls continue until the spawn has seen its own exec succeed.
    public let child: pid_t
    public private(set) var deniedCount = 0
    private var ownExecAllowed = true
    private let request: UnsafeMutablePointer<seccomp_notif>
    private let response: UnsafeMutablePointer<seccomp_notif_resp>
    private let requestSize: Int

    init(listener: Int32, child: pid_t) {
        fd = listener
        self.child = child
        var req: UnsafeMutablePointer<seccomp_notif>?
        var resp: UnsafeMutablePointer<seccomp_notif_resp>?
        // Fails only without user notification support, and then spawn's
        // SECCOMP_FILTER_FLAG_NEW_LISTENER has already failed.
        precondition(seccomp_notify_alloc(&req, &resp) == 0, "seccomp_notify_alloc failed")
        request = req!
        response = resp!
        requestSize = max(rwk_notif_size(), MemoryLayout<seccomp_notif>.size)
    }

    deinit {
        seccomp_notify_free(request, response)
        close(fd)
    }

    /// From now on every execve is the bot's: refuse them all.
    func ownExecDone() { ownExecAllowed = false }

    /// Receives one notification and answers it. Blocks if none is pending
    /// while the bot's tree lives. Once no process uses the filter any more
    /// (the listener reports POLLHUP), returns `.gone` at once and retires
    /// the listener: no notification can arrive again, and an epoll set that
    /// still holds it would otherwise report the hang-up in a busy loop.
    @discardableResult
    public func handleOne() throws(LaunchError) -> Decision {
        if retired || filterUnused() {
            retire()
            return .gone
        }
        // The kernel insists on a zeroed request.
        memset(request, 0, requestSize)
        var rc: Int32
        repeat { rc = rwk_notif_recv(fd, request) } while rc == -EINTR
        if rc == -ENOENT { return .gone }
        if rc < 0 { throw .system(call: "SECCOMP_IOCTL_NOTIF_RECV", errno: -rc) }

        let id = request.pointee.id
        let pid = pid_t(bitPattern: request.pointee.pid)
        memset(response, 0, MemoryLayout<seccomp_notif_resp>.size)
        response.pointee.id = id
        let decision: Decision
        if ownExecAllowed && pid == child {
            // CONTINUE is only safe for a process we trust to be ours: check
            // the id still refers to that live, blocked request.
            guard rwk_notif_id_valid(fd, id) == 0 else { return .gone }
            response.pointee.flags = rwk_notif_flag_continue()
            decision = .continued
        } else {
            response.pointee.error = -EPERM
            deniedCount += 1
            decision = .denied(pid: pid)
        }
        rc = rwk_notif_send(fd, response)
        if rc == -ENOENT { return .gone }
        if rc < 0 { throw .system(call: "SECCOMP_IOCTL_NOTIF_SEND", errno: -rc) }
        return decision
    }

    /// True once the listener is retired: every process under the filter is gone.
    public private(set) var retired = false

    /// POLLHUP without POLLIN: the filter has no users left.
    private func filterUnused() -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) == 1 else { return false }
        return p.revents & Int16(POLLHUP) != 0 && p.revents & Int16(POLLIN) == 0
    }

    private func retire() {
        if !retired && rwk_retire_fd(fd) == 0 { retired = true }
    }

    /// Serves notifications until `pidfd` is readable (the process exited) or
    /// no process uses the filter any more. For tests and simple callers; the
    /// supervisor puts `fd` in its epoll set instead.
    public func serve(untilExitOf pidfd: Int32) throws(LaunchError) {
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
            try sys("poll") { poll(&fds, 2, -1) }
            if fds[0].revents & Int16(POLLIN) != 0, try handleOne() == .gone, retired { return }
            if fds[1].revents != 0 || fds[0].revents & Int16(POLLHUP | POLLERR) != 0 { return }
        }
    }
}
