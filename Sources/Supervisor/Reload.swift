import Logging
import Age
import Glibc
import CLaunch
import CSys
import Vault
import Launch

/// Reload on rotation: SIGHUP, or a write to the vault file seen by inotify,
/// re-decrypts the vault; only when the keys this profile uses changed does
/// anything happen. reload = "restart": the bot restarts with the new keys
/// (writes within 100 ms are one reload). reload = "signal": the new values go
/// into the bot's key files in place, then `reload_signal` (a burst of changes
/// within `signalDebounceMs` is one reload, one signal).
extension Supervisor {
    /// reload = "signal": changes closer together than this are one reload.
    static let signalDebounceMs: Int64 = 1000

    /// SIGHUP, or a write to the vault: when to reload.
    func scheduleReload(reason: String) {
        if settings.reload == .signal {
            arm(timers.reload, ms: Self.signalDebounceMs)   // re-arming restarts the wait: trailing debounce
        } else {
            reload(reason: reason)
        }
    }

    func watch(_ vault: String) throws(LaunchError) {
        inotifyFD = try sys("inotify_add_watch \(Sys.directory(of: vault))") { rwk_inotify_dir(Sys.directory(of: vault)) }
        try add(inotifyFD, .inotify)
    }

    /// Reads the inotify events; a write to the vault arms the reload timer. So does a
    /// swap of `..data`, which is how a Kubernetes Secret or ConfigMap volume replaces
    /// its files (the vault's name there is a symlink through `..data`).
    func vaultChanged() {
        let name = Array(Sys.basename(options.watchVault ?? "").utf8)
        let swapped = Array("..data".utf8)
        var buf = [UInt8](repeating: 0, count: 4096)
        var hit = false
        while true {
            let n = read(inotifyFD, &buf, buf.count)
            if n <= 0 { break }
            var off = 0
            while off + 16 <= n {
                let len = Int(buf[off + 12]) | Int(buf[off + 13]) << 8 | Int(buf[off + 14]) << 16 | Int(buf[off + 15]) << 24
                let raw = buf[(off + 16)..<min(n, off + 16 + len)]
                let event = raw.prefix(while: { $0 != 0 })
                if event.elementsEqual(name) || event.elementsEqual(swapped) { hit = true }
                off += 16 + len
            }
        }
        if hit { arm(timers.reload, ms: settings.reload == .signal ? Self.signalDebounceMs : 100) }  // let a burst settle
    }

    /// The vault as it was before the first decrypt, compared once the run file
    /// is written: a `rotate` that landed in between (it found no run file to
    /// signal) is caught here.
    func recheckVaultAfterRegistering() {
        guard let before = options.vaultStamp, let path = options.watchVault else { return }
        guard FileStamp.of(path) != before else { return }
        if settings.reload != .none {
            reload(reason: "the vault changed while the bot started")
        } else {
            logger.warning("the vault changed while the bot started; it runs with the keys it started with (reload = \"none\")",
                           metadata: ["event": "reload-skipped"])
        }
    }

    func reload(reason: String) {
        guard life.state != .stopping, life.state != .done, let rebuild = options.reload else { return }
        let fresh: LaunchPlan
        do { fresh = try rebuild() } catch {
            logger.error("reload failed, the bot keeps its current keys: \(error)", metadata: ["event": "reload-failed"])
            return
        }
        // Compare with the keys the next start will use: rotate's SIGHUP and the
        // inotify event of the same write arrive 100 ms apart, and a bot that takes
        // longer to stop is still running on the old plan.
        guard keysChanged(fresh, from: pendingPlan ?? plan) else {
            logger.info("reload (\(reason)): the keys this profile uses are unchanged", metadata: ["event": "reload-skipped"])
            return
        }
        if settings.reload == .signal, life.state == .running, let tree, let t = tree.treeInit {
            deliverInPlace(fresh, init: t, reason: reason)
            return
        }
        logger.info("reload (\(reason)): new keys, restarting the bot", metadata: ["event": "reload", "pid": "\(tree?.pid ?? 0)"])
        record(.reload)
        pendingPlan = fresh
        feed(.reloadRequested)
    }

    /// reload = "signal": each key file whose value changed gets the fresh
    /// plan's sealed memfd (the init swaps it in with dup3, so the path opens
    /// the new value from then on), then the init sends `reload_signal` to the
    /// bot, after the swaps (one socket, in order). The fresh plan becomes the
    /// current one: redaction and later restarts use the new values.
    func deliverInPlace(_ fresh: LaunchPlan, init t: TreeInit, reason: String) {
        // The bot knows both values now, and output written under the old one may
        // still be in the pipe: mask both, before any new value reaches the bot.
        output.rebuild(fresh.secrets + plan.secrets)
        var changed: [String] = [], added: [String] = []
        for s in fresh.secrets {
            guard let slot = s.initSlot else { continue }
            guard let old = plan.secrets.first(where: { $0.variable == s.variable }), old.initSlot == slot else {
                added.append(s.variable)
                continue
            }
            if old.value.constantTimeEquals(s.value) { continue }
            if rwk_tree_send_fd(t.control, Int32(RWK_TREE_MSG_KEY), Int32(slot), fresh.request.initFds[slot]) != 0 {
                logger.error("reload: can't hand \(s.variable) to the bot's init: \(Sys.errnoString())", metadata: ["event": "reload-failed"])
                return
            }
            changed.append(s.variable)
        }
        if !added.isEmpty {
            logger.warning("reload: \(added.joined(separator: ", ")) reach the bot at its next start (a running process gets no new variables)",
                           metadata: ["event": "reload"])
        }
        guard !changed.isEmpty else {
            logger.info("reload (\(reason)): the keys this profile uses are unchanged", metadata: ["event": "reload-skipped"])
            return
        }
        _ = rwk_tree_send(t.control, Int32(RWK_TREE_MSG_RELOAD), settings.reloadSignal)
        logger.info("reload (\(reason)): new values in \(changed.joined(separator: ", ")); signal \(settings.reloadSignal) sent to the bot",
                    metadata: ["event": "reload-signal", "pid": "\(tree?.pid ?? 0)", "keys": "\(changed.count)"])
        plan = fresh
        record(.reload)
    }

    func keysChanged(_ fresh: LaunchPlan, from current: LaunchPlan) -> Bool {
        guard fresh.secrets.count == current.secrets.count else { return true }
        for (a, b) in zip(fresh.secrets, current.secrets) where a.variable != b.variable || !a.value.constantTimeEquals(b.value) {
            return true
        }
        return false
    }
}
