import Logging
import Glibc
import CSys
import Vault
import Launch

/// The launch log, the run file `rotate` reads, and the systemd watchdog.
extension Supervisor {
    func startWatchdog() {
        guard let usec = Sys.getenv("WATCHDOG_USEC").flatMap({ Int64($0) }), usec > 0 else { return }
        let ms = max(1, usec / 2000)
        arm(timers.watchdog, ms: ms, intervalMs: ms)
    }

    /// Appends a launch-log record. An `exit` record is made now but written
    /// by `flushExitRecord`: after the next spawn when the restart is
    /// immediate (so the file I/O is not between the bot's exit and the next
    /// start), else at the end of the event's handling (or of the persistent
    /// init's answer that follows it: `awaitingTreeVerdict`); and always before
    /// any later record, so the log's order is unchanged.
    func record(_ event: LaunchRecord.Event, status: ExitStatus? = nil) {
        record(event, status: status?.description, exitCode: status?.shellCode, pid: tree?.pid ?? 0)
    }

    /// A start that failed before the bot ran: its error line (a stage, a path,
    /// an errno; never a value) and exit code.
    func recordSpawnFailure(_ message: String, exitCode: Int32) {
        record(.spawnFailed, status: message, exitCode: exitCode, pid: 0)
    }

    private func record(_ event: LaunchRecord.Event, status: String?, exitCode: Int32?, pid: Int32) {
        guard options.launchLog != nil else { return }
        let r = LaunchRecord(time: Clock.system.now(), event: event, profile: settings.profileName, keys: plan.secretNames,
                             pid: pid, uid: plan.request.credentials?.uid ?? getuid(), status: status,
                             exitCode: exitCode, restarts: max(0, attempt - 1))
        flushExitRecord()
        if event == .exit { pendingExit = r } else { append(r) }
    }

    /// Writes the exit record `record` held back, if any.
    func flushExitRecord() {
        if let r = pendingExit.take() { append(r) }
    }

    private func append(_ r: LaunchRecord) {
        do { try options.launchLog?.append(r) } catch { logger.warning("launch log: \(error)") }
    }

    var runFilePath: String? { options.runDirectory.map { RunFile.path(in: $0, profile: settings.profileName, pid: getpid()) } }

    /// Registers (or updates) this supervisor for `rotate`; after the first
    /// registration, looks for a rotate that came before it.
    func writeRunFile() {
        guard let path = runFilePath else { return }
        let file = RunFile(pid: getpid(), botPid: tree?.pid ?? 0, profile: settings.profileName,
                           reload: settings.reload.rawValue, keys: plan.secretNames)
        do { try file.write(to: path) { rwk_replace_file($0, $1) } } catch {
            logger.warning("run file: \(error)")
            return
        }
        if !registered {
            registered = true
            recheckVaultAfterRegistering()
        }
    }

    func removeRunFile() {
        if let path = runFilePath { unlink(path) }
    }
}
