import CLaunch
import CSys
import Glibc

/// PID 1 of the bot's PID namespace: our child. It closes its fds when freed.
public final class TreeInit {
    /// Its pid and pidfd in our namespace. It is SIGKILLed with us (parent-death
    /// signal) and takes its namespace with it.
    public let pid: pid_t
    /// Its pidfd (pidfd_open(2)), closed when this is freed; readable once the init has exited.
    public let pidfd: Int32
    /// SOCK_SEQPACKET of `rwk_tree_msg`s: "signal every process of the
    /// namespace" goes in; what the bot did comes out (see `persistent`).
    public let control: Int32
    /// true: the init outlives the bot (`rwk_tree_start`). The bot is our child
    /// (its exit comes on its own pidfd); the init reports whether the
    /// namespace is empty after each watched bot's exit, and takes the next bot.
    /// false: the init forked the bot, reports its status, stops and
    /// continues, and exits once the bot and everything it left are gone.
    public let persistent: Bool
    /// A persistent init's PID namespace (an nsfs fd, for setns(2)); else -1.
    let namespace: Int32
    /// The generation of the bot it watches now (`RWK_TREE_MSG_WATCH`): its
    /// EMPTY and BUSY carry it, and a word with another is not about this bot.
    public private(set) var watched: Int32 = 0

    init(pid: pid_t, pidfd: Int32, control: Int32, persistent: Bool, namespace: Int32 = -1) {
        self.pid = pid
        self.pidfd = pidfd
        self.control = control
        self.persistent = persistent
        self.namespace = namespace
    }

    deinit {
        close(pidfd)
        close(control)
        if namespace >= 0 { close(namespace) }
    }

    /// A persistent init in a new PID namespace (root): a fresh image of our
    /// executable (`rwk_tree_start`), which holds nothing of our memory.
    /// - Throws: `.spawn(stage: .pidNamespace, …)` when the clone or the exec is refused.
    static func start() throws(LaunchError) -> TreeInit {
        var r = rwk_tree_start_result()
        let e = rwk_tree_start(&r)
        guard e == 0 else {
            throw .spawn(stage: .pidNamespace, errno: e, context: "clone into a new PID namespace (PID)")
        }
        return TreeInit(pid: r.pid, pidfd: r.pidfd, control: r.control, persistent: true, namespace: r.ns_fd)
    }

    /// Hands a persistent init the bot to watch. One that can't take it (it is
    /// gone, or its socket failed) is SIGKILLed, with its namespace and the
    /// bot: the bot's exit and the init's say so.
    func watch(_ botPidfd: Int32) {
        watched &+= 1
        if rwk_tree_send_fd(control, Int32(RWK_TREE_MSG_WATCH), watched, botPidfd) != 0 { kill() }
    }

    /// SIGKILL through the pidfd (never a pid that may have been reused).
    public func kill() {
        _ = rwk_pidfd_send_signal(pidfd, SIGKILL)
    }
}
