import Accounts
import TOMLKit
import Vault
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Profile {
    static let topLevelKeys = [
        "extends", "description", "command", "workdir", "user", "group", "vault", "identity_command",
        "env", "keys", "templates", "limits", "sandbox", "restart", "output", "policy",
    ]

    /// Parses and validates profile text. `path` is used in messages and to resolve relative paths.
    /// A profile with `extends` is merged over the profile it names (read from disk, with the
    /// same trust checks; a name resolves in `home`'s profiles, then /etc) before validation.
    public static func parse(toml: String, path: String, name: String, home: String? = nil) throws(ProfileError) -> Profile {
        let first = try parseLayer(toml: toml, path: path)
        let (table, layers) = try Inheritance.resolve(first, home: home ?? ProfileLocator.defaultHome())
        let context = ParseContext(layers: layers.map { ParseContext.Layer(file: $0.file, directory: absoluteDirectory(of: $0.file), positions: $0.positions) })
        var profile = try parse(root: table, context: context, path: path, name: name)
        profile.layers = layers.map(\.file)
        return profile
    }

    /// One file's TOML, with its key positions.
    static func parseLayer(toml: String, path: String) throws(ProfileError) -> Inheritance.Layer {
        guard !toml.utf8.contains(0) else {
            throw ProfileError(kind: .unreadable, message: "\(path): contains a NUL byte")
        }
        if let line = NulEscape.line(in: toml) {
            throw ProfileError(kind: .invalidValue,
                               message: "\(path): a string holds a NUL byte (\\u0000), which would cut it short where it is passed on (line \(line))",
                               hint: "remove the \\u0000 escape", line: line)
        }
        try TOMLPrecheck.check(toml, path: path)
        let root: TOMLTable
        do {
            root = try TOMLTable(string: toml)
        } catch {
            throw syntaxError(error, path: path)
        }
        return Inheritance.Layer(file: path, table: root, positions: KeyPositions(text: toml))
    }

    static func parse(root: TOMLTable, context: ParseContext, path: String, name: String) throws(ProfileError) -> Profile {
        let top = Section(table: root, path: [], context: context)
        try top.checkKeys(topLevelKeys)

        var profile = Profile(name: name, path: path, command: try parseCommand(top))
        if profile.command[0].contains("/") && !profile.command[0].hasPrefix("/") {
            profile.command[0] = resolve(expandHome(profile.command[0]), against: context.directory(of: ["command"]))
        }
        profile.description = try top.string("description")
        profile.workdir = try top.nonEmptyString("workdir").map { w in
            let expanded = expandHome(w)
            guard !expanded.hasPrefix("/") else { return expanded }
            return canonical(resolve(expanded, against: context.directory(of: ["workdir"])))
        }
        profile.user = try parseAccount(top, "user")
        profile.group = try parseAccount(top, "group")
        profile.vault = try top.nonEmptyString("vault").map(expandHome)
        profile.identityCommand = try top.nonEmptyString("identity_command")
        if let env = try top.section("env") { profile.env = try parseEnv(env) }
        if let keys = try top.section("keys") { profile.keys = try parseKeys(keys, env: profile.env) }
        if let templates = try top.section("templates") { profile.templates = try parseTemplates(templates, profile: profile) }
        profile.limits = try parseLimits(top.section("limits"))
        if let sandbox = try top.section("sandbox") {
            profile.sandbox = try parseSandbox(sandbox)
        }
        if let restart = try top.section("restart") { profile.restart = try parseRestart(restart) }
        if let output = try top.section("output") {
            try output.checkKeys(["redact"])
            profile.output.redact = try output.bool("redact") ?? true
        }
        if let policy = try top.section("policy") { profile.policy = try parsePolicy(policy) }
        return profile
    }

    static func syntaxError(_ error: any Error, path: String) -> ProfileError {
        guard let e = error as? TOMLParseError else {
            return ProfileError(kind: .syntax, message: "\(path): invalid TOML")
        }
        var text = e.description.split(whereSeparator: \.isNewline).joined(separator: " ")
        if let first = text.first, first.isUppercase { text = first.lowercased() + text.dropFirst() }
        while text.hasSuffix(".") { text.removeLast() }
        let at = e.source.begin
        return ProfileError(kind: .syntax, message: "\(path): invalid TOML: \(text) (line \(at.line), column \(at.column))",
                            line: at.line)
    }

    static func parseCommand(_ top: Section) throws(ProfileError) -> [String] {
        if let s = top.table["command"]?.string {
            let words = s.split(separator: " ").map { "\"\($0)\"" }.joined(separator: ", ")
            throw top.wrongType("command", expected: "an array of strings",
                                hint: "write command = [\(words)]; run-with-keys never splits a string into words")
        }
        guard let command = try top.strings("command") else {
            throw top.error(.invalidValue, nil, "missing key \"command\"",
                            hint: "add command = [\"/path/to/bot\", \"args…\"] (a profile written by `import --profile` without a command has it commented out: uncomment and edit it)")
        }
        guard let first = command.first else { throw top.error(.invalidValue, "command", "must not be empty") }
        guard !first.isEmpty else { throw top.error(.invalidValue, "command", "the program name must not be empty") }
        return command
    }

    /// A user or group: a name, or a numeric id given as an integer or a string.
    static func parseAccount(_ top: Section, _ key: String) throws(ProfileError) -> String? {
        guard let value = top.table[key] else { return nil }
        if let n = value.int {
            guard n >= 0 && n <= Int(UInt32.max - 1) else { throw top.error(.invalidValue, key, "bad id \(n)") }
            return String(n)
        }
        guard let s = value.string else { throw top.wrongType(key, expected: "a name or a numeric id") }
        let allowed = s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "$")
        }
        guard !s.isEmpty, s.utf8.count <= 64, allowed, !s.hasPrefix("-") else {
            throw top.error(.invalidValue, key, "bad \(key) name \"\(s)\"")
        }
        return s
    }

    static func expandHome(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        var home = getenv("HOME").map { String(cString: $0) } ?? ""
        if home.isEmpty, let user = try? Accounts.user(uid: getuid()) { home = user.home }
        if home.hasSuffix("/") { home.removeLast() }
        return home + path.dropFirst()
    }

    /// The directory a profile file is in, as an absolute path (relative ones against the current directory).
    static func absoluteDirectory(of path: String) -> String {
        let dir = Sys.directory(of: path)
        if dir.hasPrefix("/") { return dir }
        let cwd = ProfileLocator.currentDirectory() ?? "."
        return dir == "." ? cwd : resolve(dir, against: cwd)
    }

    /// `path` against `directory`, "." and "./" prefixes dropped ("../" is kept: see `canonical`).
    static func resolve(_ path: String, against directory: String) -> String {
        var rest = Substring(path)
        while rest.hasPrefix("./") { rest = rest.dropFirst(2) }
        if rest == "." || rest.isEmpty { return directory }
        return (directory.hasSuffix("/") ? directory : directory + "/") + rest
    }

    /// realpath(3) when the path exists (so "profiles/.." reads as the repository), else as is.
    static func canonical(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

}
