import Glibc
import Common

/// `<home>/run/<profile>.<pid>.json`: a running supervisor's registration. The
/// supervisor writes it once its bot runs (and removes it when it exits);
/// `rotate` reads it to find the supervisors whose bots use a key. One line of
/// JSON: `{"pid":…,"bot_pid":…,"profile":"…","reload":"…","keys":["…"]}`.
public struct RunFile: Sendable, Equatable {
    /// The supervisor's pid.
    public var pid: pid_t
    /// Its bot's pid, as the host sees it.
    public var botPid: pid_t
    /// The profile's name, as in the file name.
    public var profile: String
    /// `[restart] reload`: "none", "restart" or "signal".
    public var reload: String
    /// The secret names the bot uses.
    public var keys: [String]

    /// A registration as given; `write(to:)` stores it.
    public init(pid: pid_t, botPid: pid_t, profile: String, reload: String, keys: [String]) {
        self.pid = pid
        self.botPid = botPid
        self.profile = profile
        self.reload = reload
        self.keys = keys
    }

    /// `<directory>/<profile>.<pid>.json`: one per supervisor, so two runs of one
    /// profile (or two `exec`s) don't share a registration.
    public static func path(in directory: String, profile: String, pid: pid_t) -> String {
        directory + "/" + profile + "." + String(pid) + ".json"
    }

    /// The one-line document.
    public var json: String {
        "{\"pid\":\(pid),\"bot_pid\":\(botPid),\"profile\":\(LaunchLog.json(profile)),"
            + "\"reload\":\(LaunchLog.json(reload)),\"keys\":[\(keys.map(LaunchLog.json).joined(by: ","))]}\n"
    }

    /// Parses a document written by `json`; nil when it is not one.
    public static func parse(_ bytes: [UInt8]) -> RunFile? {
        var file = RunFile(pid: 0, botPid: 0, profile: "", reload: "none", keys: [])
        var hasPid = false, hasProfile = false
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            var r = JSONReader(buf)
            do {
                try r.object { (r: inout JSONReader, key: String) throws(VaultError) in
                    switch key {
                    case "pid": file.pid = pid_t(truncatingIfNeeded: try r.integer()); hasPid = true
                    case "bot_pid": file.botPid = pid_t(truncatingIfNeeded: try r.integer())
                    case "profile": file.profile = try r.string(); hasProfile = true
                    case "reload": file.reload = try r.string()
                    case "keys": file.keys = try r.stringArray()
                    default: try r.skipValue()
                    }
                }
            } catch { return false }
            return true
        }
        return ok && hasPid && hasProfile && file.pid > 0 ? file : nil
    }

    /// Writes the file atomically (a temp file renamed over it), mode 0600,
    /// creating the directory (0700) when needed (only when the temp file can't
    /// be created: a supervisor rewrites its run file at every restart).
    /// - Parameter replace: puts the temp file (first argument) in place of
    ///   `path`, atomically; 0 or -1 and errno, as rename(2), the default. (The
    ///   supervisor rewrites its run file at every restart and passes one that
    ///   spares the filesystem a block write each time.)
    /// - Throws: `VaultError` when the directory or the file can't be written.
    public func write(to path: String,
                      replace: (_ tmp: String, _ path: String) -> Int32 = { Glibc.rename($0, $1) }) throws(VaultError) {
        let tmp = path + ".tmp"
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC
        let (fd, e) = try Sys.openCreatingDirectories(tmp, flags, 0o600)
        guard fd >= 0 else { throw VaultError(.io, "can't write \(tmp): \(Sys.errnoString(e))") }
        var e2 = Sys.writeAll(fd, json)
        if close(fd) != 0 && e2 == 0 { e2 = errno }
        guard e2 == 0 else {   // a short file (a full disk) must not replace the good one
            unlink(tmp)
            throw VaultError(.io, "can't write \(tmp): \(Sys.errnoString(e2))")
        }
        guard replace(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw VaultError(.io, "can't rename \(tmp): \(Sys.errnoString(e))")
        }
    }

    /// Reads a run file: a regular file of ours (not a link or a FIFO), else nil.
    public static func read(_ path: String) -> RunFile? {
        guard let (fd, st) = try? RegularFile.open(path, noFollow: true) else { return nil }
        defer { close(fd) }
        guard st.st_uid == geteuid(),
              let bytes = try? Sys.readAll(fd, path: path, limit: 1 << 16) else { return nil }
        return parse(bytes)
    }
}
