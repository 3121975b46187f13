import Glibc
import CLaunch
import Vault
import Launch

/// Reload on rotation: SIGHUP, or a write to the vault file seen by inotify
/// (debounced: a burst of writes within 100 ms is one reload), re-decrypts the
/// vault; only when the keys this profile uses changed does the bot restart.
extension Supervisor {
    func watch(_ vault: String) throws(LaunchError) {
        inotifyFD = try sys("inotify_add_watch \(Sys.directory(of: vault))") { rwk_inotify_dir(Sys.directory(of: vault)) }
        try add(inotifyFD, .inotify)
    }

    /// Reads the inotify events; a write to the vault arms the reload timer.
    func vaultChanged() {
        let name = Array(Sys.basename(options.watchVault ?? "").utf8)
        var buf = [UInt8](repeating: 0, count: 4096)
        var hit = false
        while true {
            let n = read(inotifyFD, &buf, buf.count)
            if n <= 0 { break }
            var off = 0
            while off + 16 <= n {
                let len = Int(buf[off + 12]) | Int(buf[off + 13]) << 8 | Int(buf[off + 14]) << 16 | Int(buf[off + 15]) << 24
                let raw = buf[(off + 16)..<min(n, off + 16 + len)]
                if raw.prefix(while: { $0 != 0 }).elementsEqual(name) { hit = true }
                off += 16 + len
            }
        }
        if hit { arm(timers.reload, ms: 100) }  // let a burst of writes settle
    }

    /// The vault as it was before the first decrypt, compared once the run file
    /// is written: a `rotate` that landed in between (it found no run file to
    /// signal) is caught here.
    func recheckVaultAfterRegistering() {
        guard let before = options.vaultStamp, let path = options.watchVault else { return }
        guard FileStamp.of(path) != before else { return }
        if settings.reload == .restart {
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
        logger.info("reload (\(reason)): new keys, restarting the bot", metadata: ["event": "reload", "pid": "\(tree?.pid ?? 0)"])
        record(.reload)
        pendingPlan = fresh
        feed(.reloadRequested)
    }

    func keysChanged(_ fresh: LaunchPlan, from current: LaunchPlan) -> Bool {
        guard fresh.secrets.count == current.secrets.count else { return true }
        for (a, b) in zip(fresh.secrets, current.secrets) where a.variable != b.variable || !a.value.constantTimeEquals(b.value) {
            return true
        }
        return false
    }
}
