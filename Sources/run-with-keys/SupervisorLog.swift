import ArgumentParser
import Common
import CSys
import Glibc
import Logging
import Vault

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The supervisor's event log on stderr: `run-with-keys[bot]: started (pid=12 attempt=1)`,
/// or one JSON object per line. Events carry the profile, pid and attempt, never values.
struct SupervisorLog: LogHandler {
    var format: LogFormat
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func make(format: LogFormat) -> Logger {
        Logger(label: "run-with-keys") { _ in SupervisorLog(format: format) }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var all = metadata
        if let extra { all.merge(extra) { $1 } }
        let profile = all.removeValue(forKey: "profile").map { "\($0)" } ?? "-"
        // Our terminal is raw while the bot has it (Terminal.swift): a line must return the carriage itself.
        let eol = Output.eol
        switch format {
        case .text:
            let tags = all.sorted { $0.key < $1.key }.filter { $0.key != "event" }.map { "\($0.key)=\($0.value)" }
            let prefix = level >= .warning ? "\(level == .warning ? "warning" : "error"): " : ""
            Sys.writeAll(2, "run-with-keys[\(profile)]: \(prefix)\(message)" + (tags.isEmpty ? "" : " (" + tags.joined(by: " ") + ")") + eol)
        case .json:
            var fields = [("time", JSONText.string(Clock.system.now().description)), ("level", JSONText.string(level.rawValue)),
                          ("profile", JSONText.string(profile)), ("msg", JSONText.string(message.description))]
            for (k, v) in all.sorted(by: { $0.key < $1.key }) {
                let text = "\(v)"
                fields.append((k, Int64(text) != nil ? text : JSONText.string(text)))
            }
            Sys.writeAll(2, JSONText.object(fields) + eol)
        }
    }
}
