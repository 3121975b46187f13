import Glibc
import CSys
import Profile

/// The containment plan and its Landlock ruleset, worked out on a second thread
/// while the caller decrypts the vault.
///
/// Both depend on the profile's `[sandbox]` and the paths of the key material,
/// never on the vault's contents. A hide-keys ruleset is a few hundred system
/// calls (an `openat` and a `landlock_add_rule` for every entry of each directory
/// on the way to a hidden path, about 0.3 ms with its planning; BENCHMARKS.md),
/// which on a machine with two cores overlap the decrypt's file reads and X25519.
///
/// The thread touches no secret: it runs `Containment.plan` and
/// `Landlock.Ruleset.create()` and nothing else, with every signal blocked, and
/// its fds are close-on-exec (an identity command may be spawned meanwhile).
/// `LaunchPlan.build` waits for it before anything forks, and throws its errors
/// where it would have thrown them had it done the work itself, so a launch
/// reports the same first error either way. When the thread can't be started,
/// the work is done right away on the caller's. When the decrypt waited for
/// something outside (`waitedMs`), the caller drops this and builds the ruleset
/// after it, so that it rules the directories' entries as they are at the spawn.
///
/// Measured (BENCHMARKS.md): 0.05 to 0.2 ms less wall time per launch, for
/// about 0.2 ms more CPU time (the thread's start, and TLB shootdowns to the
/// second core for the process's later address-space changes).
public final class PreparedContainment: @unchecked Sendable {
    private let sandbox: SandboxSpec
    private let keyMaterial: [String]
    private let profilePath: String
    private let rootBot: Bool
    private var planned: Result<(Containment, Landlock.Ruleset?), PlanError>?
    private var created: Result<Int32, LaunchError>?
    private var thread: pthread_t?
    private var fdTaken = false

    /// A decrypt slower than this (in ms) waited for something outside (an identity
    /// command, a pipe, a passphrase prompt); its caller drops the prepared ruleset
    /// and builds one after it (`Preparation.plan`). A plain decrypt takes about 0.4 ms.
    public static let waitedMs: Int64 = 10

    /// Starts the work: on a thread of its own when `background`, else now.
    /// `keyMaterial`, `profilePath` and `rootBot` as for `Containment.plan`.
    public init(_ sandbox: SandboxSpec, keyMaterial: [String], profilePath: String, rootBot: Bool = false, background: Bool = true) {
        self.sandbox = sandbox
        self.keyMaterial = keyMaterial
        self.profilePath = profilePath
        self.rootBot = rootBot
        guard background else { work(); return }
        // The thread allocates from the main malloc arena (glibc would map a new
        // 64 MiB one for it, which every later fork copies), on a small stack.
        _ = rwk_malloc_one_arena()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 256 * 1024)
        // Every signal blocked in the thread (it inherits the mask it is created
        // with): a Ctrl-C at a passphrase prompt must reach the thread that reads it.
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &old)
        var t = pthread_t()
        // Unretained: the object lives until its deinit, which joins the thread first.
        let started = pthread_create(&t, &attr, { arg in
            Unmanaged<PreparedContainment>.fromOpaque(arg!).takeUnretainedValue().work()
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
        pthread_sigmask(SIG_SETMASK, &old, nil)
        if started == 0 { thread = t } else { work() }
    }

    private func work() {
        do throws(PlanError) {
            let (containment, ruleset) = try Containment.plan(sandbox, keyMaterial: keyMaterial, profilePath: profilePath, rootBot: rootBot)
            planned = .success((containment, ruleset))
            if let ruleset {
                do throws(LaunchError) { created = .success(try ruleset.create()) } catch { created = .failure(error) }
            }
        } catch {
            planned = .failure(error)
        }
    }

    private func wait() {
        if let t = thread { pthread_join(t, nil); thread = nil }
    }

    /// What `Containment.plan` returned, once the thread is done.
    /// - Throws: its `PlanError`.
    public func plan() throws(PlanError) -> (Containment, Landlock.Ruleset?) {
        wait()
        return try planned!.get()
    }

    /// The ruleset's fd, from here on the caller's to close; nil when the plan has no ruleset.
    /// - Throws: `LaunchError` from `Landlock.Ruleset.create()`.
    public func rulesetFd() throws(LaunchError) -> Int32? {
        wait()
        guard let created else { return nil }
        fdTaken = true
        return try created.get()
    }

    deinit {
        wait()
        if !fdTaken, case .success(let fd)? = created { close(fd) }
    }
}
