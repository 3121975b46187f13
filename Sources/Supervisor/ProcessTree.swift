import Glibc
import CLaunch
import CSys
import Launch
import Vault

/// One started bot and the tree below it: its pid and pidfd while it runs, the
/// namespace's init when the tree is contained (see `TreeMode`; a persistent
/// init is shared by the bots started in its namespace), and the no_exec
/// guard. Signals to "the tree" go through the init when there is one (it
/// reaches every process of the namespace with one `kill(-1)`), else to the
/// bot's process group and each other descendant found in /proc.
final class BotTree {
    /// The bot in our pid namespace; kept after its exit for logs.
    let pid: pid_t
    /// The bot's pidfd; -1 once it exited.
    private(set) var pidfd: Int32
    private(set) var execGuard: ExecGuard?
    /// PID 1 of the bot's namespace (our child) until it is reaped.
    private(set) var treeInit: TreeInit?
    /// A persistent init's word on the namespace after this bot's exit: true
    /// empty, false processes left (true follows when they are gone); nil until it spoke.
    var keeperVerdict: Bool?

    init(_ spawned: SpawnedProcess) {
        pid = spawned.pid
        pidfd = spawned.pidfd
        execGuard = spawned.execGuard
        treeInit = spawned.treeInit
    }

    deinit {
        if pidfd >= 0 { close(pidfd) }
    }

    var botAlive: Bool { pidfd >= 0 }

    /// The bot is our child (no namespace, or a persistent init's): we reap it.
    var botIsOurChild: Bool { treeInit?.persistent ?? true }

    /// The bot has exited and its persistent init has yet to say whether the namespace is empty.
    var keeperWordDue: Bool { treeInit?.persistent == true && !botAlive && keeperVerdict == nil }

    /// Forwards `sig` to the bot alone (SIGHUP, SIGUSR1, …).
    func forward(_ sig: Int32) {
        if pidfd >= 0 { _ = rwk_pidfd_send_signal(pidfd, sig) }
    }

    /// `sig` once to every process of the tree: many programs take a second
    /// SIGTERM or SIGINT as "quit now" and would skip their clean shutdown.
    func signalAll(_ sig: Int32) {
        if let t = treeInit {
            _ = rwk_tree_send(t.control, Int32(RWK_TREE_MSG_SIGNAL), sig)
            return
        }
        var group: pid_t = 0   // the bot is a session leader, so its pgid is its pid and can't change
        if botAlive {
            if kill(-pid, sig) == 0 { group = pid } else { forward(sig) }
        }
        for p in ProcessTree.descendants() where group == 0 || getpgid(p) != group { kill(p, sig) }
    }

    /// SIGKILL to everything left; returns how many processes there were
    /// (the init not counted). The init's death takes its whole namespace with
    /// it (pid_namespaces(7)).
    @discardableResult
    func killAll() -> Int {
        let rest = ProcessTree.descendants().filter { $0 != treeInit?.pid }
        if let t = treeInit { _ = rwk_pidfd_send_signal(t.pidfd, SIGKILL) }
        for p in rest { kill(p, SIGKILL) }
        return rest.count
    }

    /// The bot exited: its pidfd and guard go.
    func botGone() {
        if pidfd >= 0 { close(pidfd) }
        pidfd = -1
        execGuard = nil
    }

    enum TreeMessage {
        /// The init reaped the bot: its raw wait status.
        case exit(Int32)
        /// The bot stopped with this signal, or went on (job control).
        case stopped(Int32), continued
        /// A persistent init, after the exit of the bot it watched as this
        /// generation (`TreeInit.watched`): none of its children is left, or some are.
        case empty(Int32), busy(Int32)
    }

    /// The init's next message. nil when none is pending; `.failure` at EOF (the init is gone).
    func nextTreeMessage() -> Result<TreeMessage, TreeClosed>? {
        guard let t = treeInit else { return nil }
        var m = rwk_tree_msg()
        while true {
            let got = rwk_tree_recv(t.control, &m)
            if got == 1 {
                switch m.type {
                case Int32(RWK_TREE_MSG_EXIT): return .success(.exit(m.value))
                case Int32(RWK_TREE_MSG_STOPPED): return .success(.stopped(m.value))
                case Int32(RWK_TREE_MSG_CONTINUED): return .success(.continued)
                case Int32(RWK_TREE_MSG_EMPTY): return .success(.empty(m.value))
                case Int32(RWK_TREE_MSG_BUSY): return .success(.busy(m.value))
                default: continue
                }
            }
            return got < 0 ? .failure(TreeClosed()) : nil
        }
    }

    struct TreeClosed: Error {}

    /// The init was reaped: its namespace is empty.
    func initGone() {
        treeInit = nil
    }
}

/// Descendants of this process from /proc.
enum ProcessTree {
    /// Every descendant of this process, as pids of its own pid namespace (the
    /// numbers kill(2) takes).
    ///
    /// /proc may belong to another pid namespace than ours: `unshare --pid --fork`
    /// without --mount-proc, some containers. Its numbers are then not ours, and
    /// getpid() (1 in a new namespace) is some other process there — walking
    /// from it would find the whole outer system, and killing those numbers
    /// would hit unrelated processes of ours. So the walk starts from /proc/self
    /// in /proc's numbering, and each pid found is translated through NSpid.
    static func descendants() -> [pid_t] {
        guard let me = ProcessIDs.selfInProc() else { return [] }   // we are not visible in this /proc
        let found = descendants(of: me)
        guard me != getpid() else { return found }
        return found.compactMap { p in ProcessIDs.nsPids(of: p).flatMap(ProcessIDs.ours) }
    }

    /// Walks /proc: pid → ppid, then collects everything below `root` (in /proc's numbering).
    static func descendants(of root: pid_t) -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var children: [pid_t: [pid_t]] = [:]
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let p = pid_t(name) else { continue }
            guard let ppid = parent(of: p) else { continue }
            children[ppid, default: []].append(p)
        }
        var out: [pid_t] = [], queue = children[root] ?? []
        while let p = queue.popLast() {
            out.append(p)
            queue += children[p] ?? []
        }
        return out
    }

    /// Field 4 of /proc/PID/stat, after the ")" that ends the command name.
    static func parent(of pid: pid_t) -> pid_t? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count)
        guard n > 0, let close = buf[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buf[(close + 2)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }

    /// Field 3 of /proc/PID/stat (R, S, T …); nil when unreadable.
    static func state(of pid: pid_t) -> UInt8? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count)
        guard n > 0, let close = buf[0..<n].lastIndex(of: UInt8(ascii: ")")), close + 2 < n else { return nil }
        return buf[close + 2]
    }

    /// __WALL: also children whose exit signal isn't SIGCHLD (clone(2) without it).
    static let waitAll: Int32 = 0x4000_0000

    /// Whether any child is left, running or not yet reaped. Every live
    /// descendant has a chain of live ancestors up to one of our children
    /// (orphans are re-parented to us, the subreaper), so no children means no
    /// descendants. Unlike a /proc walk, this is exact whichever pid namespace
    /// /proc belongs to, and cheap enough for every exit.
    static func hasChildren() -> Bool {
        var info = siginfo_t()
        return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | waitAll) == 0
    }

    /// Whether any child but `pid` is left, from /proc/self/task/<tid>/children
    /// of our one thread (which starts every child, and takes in orphans as the
    /// subreaper). A persistent init's word covers its own children only: a
    /// process the bot made with clone(CLONE_PARENT) is ours, in its namespace.
    /// true when the file can't be read (the stop timer then settles it).
    static func hasChildren(besides pid: pid_t) -> Bool {
        rwk_has_children_besides(pid) != 0
    }
}
