import Common
import TOMLKit

/// Parsing of `[env]` and `[keys]`.
extension Profile {
    static let reservedPrefix = "RUN_WITH_KEYS_"
    static let reservedHint = "RUN_WITH_KEYS_* variables configure run-with-keys itself and never reach the child"

    static func parseEnv(_ section: Section) throws(ProfileError) -> EnvSpec {
        try section.checkKeys(["inherit", "set"])
        var env = EnvSpec()
        for name in try section.strings("inherit") ?? [] where !env.inherit.contains(name) {
            try checkVariable(name, in: section, key: "inherit")
            env.inherit.append(name)
        }
        if let set = try section.section("set") {
            for name in set.keys {
                try checkVariable(name, in: set, key: name)
                guard let value = try set.string(name) else { continue }
                env.set.append(EnvPair(name: name, value: value))
            }
        }
        return env
    }

    static func parseKeys(_ section: Section, env: EnvSpec) throws(ProfileError) -> [KeySpec] {
        var keys: [KeySpec] = []
        var fdOwners: [Int32: String] = [:]
        for variable in section.keys {
            try checkVariable(variable, in: section, key: variable)
            if env.set.contains(where: { $0.name == variable }) || env.inherit.contains(variable) {
                throw section.error(.invalidValue, variable, "\(variable) is also named in [env]",
                                    hint: "a variable comes either from [env] or from [keys], not both")
            }
            let spec = try parseKey(section, variable)
            if case .fd(let n) = spec.mode {
                if let owner = fdOwners[n] {
                    throw section.error(.invalidValue, variable, "fd \(n) is already used by keys.\(owner)")
                }
                fdOwners[n] = variable
            }
            keys.append(spec)
        }
        return keys
    }

    /// `VAR = "secret/name"` or `VAR = { secret = "…", as = "env"|"file"|"fd", fd = N, max_age = "90d" }`.
    static func parseKey(_ section: Section, _ variable: String) throws(ProfileError) -> KeySpec {
        if let secret = section.table[variable]?.string {
            try checkSecret(secret, in: section, key: variable)
            return KeySpec(variable: variable, secret: secret)
        }
        guard section.table[variable]?.table != nil, let entry = try section.section(variable) else {
            throw section.wrongType(variable, expected: "a secret name or an inline table",
                                    hint: "write \(variable) = \"name/in/vault\" or \(variable) = { secret = \"name/in/vault\" }")
        }
        try entry.checkKeys(["secret", "as", "fd", "max_age"])
        guard let secret = try entry.string("secret") else {
            throw entry.error(.invalidValue, nil, "missing key \"secret\"")
        }
        try checkSecret(secret, in: entry, key: "secret")
        let fd = try entry.int("fd")
        var mode = KeySpec.Mode.env
        switch try entry.string("as") ?? "env" {
        case "env": mode = .env
        case "file": mode = .file
        case "fd":
            guard let fd else {
                throw entry.error(.invalidValue, "as", "as = \"fd\" needs an fd number", hint: "add fd = 3 (or any free number up to 1023)")
            }
            guard (3...1023).contains(fd) else {
                throw entry.error(.invalidValue, "fd", "fd \(fd) is out of range: use 3 to 1023",
                                  hint: "0, 1 and 2 are the bot's stdin, stdout and stderr")
            }
            mode = .fd(Int32(fd))
        case let other:
            let hint = Suggest.closest(to: other, in: ["env", "file", "fd"]).map { "did you mean \"\($0)\"?" }
                ?? "use \"env\", \"file\" or \"fd\""
            throw entry.error(.invalidValue, "as", "unknown value \"\(other)\"", hint: hint)
        }
        if fd != nil, mode == .env || mode == .file {
            throw entry.error(.invalidValue, "fd", "fd is only allowed with as = \"fd\"")
        }
        return KeySpec(variable: variable, secret: secret, mode: mode, maxAge: try entry.duration("max_age"))
    }

    static func checkVariable(_ name: String, in section: Section, key: String) throws(ProfileError) {
        guard isVariableName(name) else {
            throw section.error(.invalidValue, key, "bad variable name \"\(name)\"",
                                hint: "variable names are letters, digits and _, and do not start with a digit")
        }
        guard !name.hasPrefix(reservedPrefix) else {
            throw section.error(.invalidValue, key, "\(name) cannot be passed to the bot", hint: reservedHint)
        }
    }

    static func checkSecret(_ name: String, in section: Section, key: String) throws(ProfileError) {
        guard SecretName.isValid(name) else {
            throw section.error(.invalidValue, key, "bad secret name \"\(name)\"",
                                hint: "secret names are \(SecretName.rule)")
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`
    public static func isVariableName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !isDigit(first) else { return false }
        return s.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
}
