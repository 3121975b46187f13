import Common
import TOMLKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Vault

/// One `[templates]` entry (or `exec --template VAR=PATH`): a config file
/// template whose `{{ rwk://NAME }}` references are replaced by secret values at
/// launch; the rendered file reaches the bot as a sealed memfd whose path the
/// variable holds (and `{file:VAR}` in `command` becomes).
///
/// The template itself holds no secret: it is read (a regular file only) and
/// split into text and references when the profile is loaded.
public struct TemplateSpec: Sendable, Equatable {
    /// How inserted values are escaped, chosen by the template's file name
    /// without `.tmpl` (`config.json.tmpl` is JSON).
    public enum Format: String, Sendable, CaseIterable {
        /// JSON string escaping.
        case json
        /// YAML double-quoted-scalar escaping.
        case yaml
        /// TOML basic-string escaping.
        case toml
        /// The value as it is.
        case raw
    }

    /// A piece of the template: literal text, or a reference to a secret.
    public enum Part: Sendable, Equatable {
        /// Text outside any `{{ … }}`, copied as it is.
        case text(String)
        /// `{{ rwk://NAME }}`: the vault secret's name, and the 1-based line its `{{` is on.
        case secret(String, line: Int)
    }

    /// The environment variable that holds the rendered file's path (`/proc/self/fd/N`): the `[templates]`
    /// key, or VAR of `exec --template`.
    public var variable: String
    /// The template file, resolved against the profile's directory.
    public var source: String
    /// How values are escaped; `load` takes it from the file name (`format(forName:)`).
    public var format: Format
    /// The template as split by `parse`, in order; a reference carries its 1-based line.
    public var parts: [Part]

    /// A spec from parts already split; nothing is read or checked.
    public init(variable: String, source: String, format: Format, parts: [Part]) {
        self.variable = variable
        self.source = source
        self.format = format
        self.parts = parts
    }

    /// The secrets the template refers to, each once, in order of appearance.
    public var references: [String] {
        var out: [String] = []
        for case .secret(let name, _) in parts where !out.contains(name) { out.append(name) }
        return out
    }

    /// The line of the first reference to `secret`.
    public func line(of secret: String) -> Int? {
        for case .secret(let name, let line) in parts where name == secret { return line }
        return nil
    }

    /// The format for a template file name: the extension before `.tmpl`.
    public static func format(forName path: String) -> Format {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        if name.hasSuffix(".tmpl") { name = name.dropLast(5) }
        if name.hasSuffix(".json") { return .json }
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { return .yaml }
        if name.hasSuffix(".toml") { return .toml }
        return .raw
    }

    /// The largest template accepted.
    public static let maxSize = 1 << 20

    /// Reads and parses the template at `source` for `variable`. Errors name the file and line.
    public static func load(variable: String, source: String) throws(ProfileError) -> TemplateSpec {
        let text = try readText(source)
        return TemplateSpec(variable: variable, source: source, format: format(forName: source),
                            parts: try parse(text, file: source))
    }

    /// Reads a regular file (not a FIFO, device or directory) as UTF-8 text, after the
    /// profile's owner/mode rule (``Profile/checkTrusted(_:_:what:)``): a template
    /// decides which secrets reach the bot, so one that another user could have written is refused.
    static func readText(_ path: String) throws(ProfileError) -> String {
        let bytes: [UInt8]
        let fd: Int32, st: stat
        do { (fd, st) = try RegularFile.open(path) } catch {
            throw ProfileError(path, error, what: "template", hint: "a template's source is relative to the profile's directory")
        }
        defer { close(fd) }
        try Profile.checkTrusted(path, st, what: "template")
        do { bytes = try RegularFile.readAll(fd, path: path, limit: maxSize) } catch {
            if case .tooLarge = error.reason {
                throw ProfileError(kind: .unreadable, message: "template \(path): larger than \(maxSize >> 20) MiB")
            }
            throw ProfileError(path, error, what: "template", hint: "a template's source is relative to the profile's directory")
        }
        guard !bytes.contains(0), let text = String(validUTF8: bytes) else {
            throw ProfileError(kind: .unreadable, message: "template \(path): not UTF-8 text")
        }
        return text
    }

    /// Splits template text: `{{ rwk://NAME }}` (spaces optional) is a reference;
    /// any other `{{ … }}`, or an unclosed `{{`, is an error naming the line.
    public static func parse(_ text: String, file: String) throws(ProfileError) -> [Part] {
        var parts: [Part] = []
        var rest = Substring(text)
        var line = 1
        func count(_ s: Substring) -> Int { s.utf8.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) } }
        // "{{" and "}}" are found as bytes: a String search matches Characters, and a
        // combining mark after a brace ("{{\u{64D}…") makes it a different Character,
        // which would leave "{{" unrendered in the output.
        while let open = rest.utf8.firstRange(ofBytes: "{{") {
            let before = rest[..<open.lowerBound]
            line += count(before)
            if !before.isEmpty { parts.append(.text(String(before))) }
            let after = rest[open.upperBound...]
            guard let close = after.utf8.firstRange(ofBytes: "}}") else {
                throw ProfileError(kind: .invalidValue, message: "\(file) line \(line): \"{{\" is never closed by \"}}\"",
                                   hint: "write a reference as {{ rwk://name/in/vault }}", line: line)
            }
            let inner = after[..<close.lowerBound]
            let form = inner.trimmingSpaces
            guard form.hasPrefix("rwk://"), SecretName.isValid(String(form.dropFirst(6))) else {
                let shown = form.count > 60 ? String(form.prefix(60)) + "…" : String(form)
                throw ProfileError(kind: .invalidValue, message: "\(file) line \(line): unknown template form {{ \(shown) }}",
                                   hint: "the only form is {{ rwk://NAME }}, NAME a secret in the vault", line: line)
            }
            parts.append(.secret(String(form.dropFirst(6)), line: line))
            line += count(inner)
            rest = after[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return parts
    }
}

extension Profile {
    /// `[templates] VAR = { source = "config.json.tmpl", secrets = ["exchange/key"] }`.
    /// The template may refer only to secrets named in `secrets` or in `[keys]`.
    /// - Throws: `ProfileError` for a bad entry, an unreadable or untrusted template
    ///   (owner/mode as for profiles), or a reference to an undeclared secret.
    static func parseTemplates(_ section: Section, profile: Profile) throws(ProfileError) -> [TemplateSpec] {
        var out: [TemplateSpec] = []
        for variable in section.keys {
            try checkVariable(variable, in: section, key: variable)
            if profile.keys.contains(where: { $0.variable == variable })
                || profile.env.set.contains(where: { $0.name == variable }) || profile.env.inherit.contains(variable) {
                throw section.error(.invalidValue, variable, "\(variable) is also named in [keys] or [env]",
                                    hint: "a variable comes from one of [env], [keys] or [templates]")
            }
            guard section.table[variable]?.table != nil, let entry = try section.section(variable) else {
                throw section.wrongType(variable, expected: "an inline table",
                                        hint: "write \(variable) = { source = \"config.json.tmpl\" }")
            }
            try entry.checkKeys(["source", "secrets"])
            guard let source = try entry.nonEmptyString("source") else {
                throw entry.error(.invalidValue, nil, "missing key \"source\"", hint: "add source = \"config.json.tmpl\"")
            }
            let declared = try entry.strings("secrets") ?? []
            for name in declared where !SecretName.isValid(name) {
                throw entry.error(.invalidValue, "secrets", "\"\(name)\" is not a secret name",
                                  hint: "a secret name is \(SecretName.rule)")
            }
            // Relative to the directory of the file that wrote it (with `extends`, maybe a base's).
            let origin = section.context.origin(of: section.path + [variable])
            let path = source.hasPrefix("/") ? source : origin.directory + "/" + source
            let spec: TemplateSpec
            do { spec = try TemplateSpec.load(variable: variable, source: path) } catch {
                var e = error
                if e.line == nil, let line = origin.positions.line(of: section.path + [variable]) {
                    e.message += " (\(origin.file) line \(line))"
                }
                throw e
            }
            // The profile, not the template file, decides which secrets the bot gets: a
            // template may name only a secret of [keys] or of its own `secrets` list.
            let allowed = Set(profile.keys.map(\.secret) + declared)
            if let name = spec.references.first(where: { !allowed.contains($0) }) {
                throw entry.error(.invalidValue, nil,
                                  "template \(variable) (\(path) line \(spec.line(of: name) ?? 0)) refers to secret \"\(name)\", "
                                  + "which the profile doesn't declare",
                                  hint: "if the bot should get it, add it to the template's list: "
                                      + "\(variable) = { source = \"\(source)\", secrets = [\"\(name)\"] }")
            }
            out.append(spec)
        }
        return out
    }

    /// Every use of a secret: the keys, then one per secret each template refers
    /// to (as a file key of the template's variable). For the key policy, audit,
    /// rotate and reload, which count templates as uses of their secrets.
    public var secretUses: [KeySpec] {
        keys + templates.flatMap { t in t.references.map { KeySpec(variable: t.variable, secret: $0, mode: .file) } }
    }

    /// The secret names the profile uses (keys and templates), each once, in order.
    public var secretNames: [String] {
        var out: [String] = []
        for use in secretUses where !out.contains(use.secret) { out.append(use.secret) }
        return out
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (no Foundation).
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
