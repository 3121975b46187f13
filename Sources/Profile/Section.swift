import TOMLKit

/// What every error needs: the file's name and where its keys are.
struct ParseContext {
    let file: String
    let positions: KeyPositions
}

/// One TOML table of a profile, with typed getters that fail with messages naming the key.
struct Section {
    let table: TOMLTable
    let path: [String]
    let context: ParseContext

    /// This table's keys, in file order.
    var keys: [String] { context.positions.fileOrder(table.keys, in: path) }

    func contains(_ key: String) -> Bool { table[key] != nil }

    func keyPath(_ key: String?) -> String { (key.map { path + [$0] } ?? path).joined(separator: ".") }

    /// `<file>: <key path>: <text> (line N)`.
    func error(_ kind: ProfileError.Kind, _ key: String?, _ text: String, hint: String? = nil) -> ProfileError {
        let line = context.positions.line(of: key.map { path + [$0] } ?? path)
        let keyPart = key == nil && path.isEmpty ? "" : keyPath(key) + ": "
        let lineSuffix = line.map { " (line \($0))" } ?? ""
        return ProfileError(kind: kind, message: "\(context.file): \(keyPart)\(text)\(lineSuffix)",
                            hint: hint, line: line)
    }

    func wrongType(_ key: String, expected: String, hint: String? = nil) -> ProfileError {
        let found = table[key].map { Section.describe($0.type) } ?? "nothing"
        return error(.wrongType, key, "expected \(expected), found \(found)", hint: hint)
    }

    /// Unknown keys are errors, with the closest valid key as a hint.
    func checkKeys(_ valid: [String]) throws(ProfileError) {
        for key in keys where !valid.contains(key) {
            let line = context.positions.line(of: path + [key])
            let where_ = path.isEmpty ? "" : "[\(path.joined(separator: "."))] "
            let hint = Suggest.closest(to: key, in: valid).map { "did you mean \"\($0)\"?" }
                ?? "valid keys here: " + valid.joined(separator: ", ")
            throw ProfileError(kind: .unknownKey,
                               message: "\(context.file): \(where_)unknown key \"\(key)\"" + (line.map { " (line \($0))" } ?? ""),
                               hint: hint, line: line)
        }
    }

    func string(_ key: String) throws(ProfileError) -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else { throw wrongType(key, expected: "a string") }
        return s
    }

    func nonEmptyString(_ key: String) throws(ProfileError) -> String? {
        guard let s = try string(key) else { return nil }
        guard !s.isEmpty else { throw error(.invalidValue, key, "must not be empty") }
        return s
    }

    func int(_ key: String) throws(ProfileError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let n = value.int else { throw wrongType(key, expected: "an integer") }
        return n
    }

    func bool(_ key: String) throws(ProfileError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let b = value.bool else { throw wrongType(key, expected: "true or false") }
        return b
    }

    func strings(_ key: String) throws(ProfileError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrongType(key, expected: "an array of strings") }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let s = element.string else {
                throw error(.wrongType, key, "element \(index + 1): expected a string, found \(Section.describe(element.type))")
            }
            result.append(s)
        }
        return result
    }

    func section(_ key: String) throws(ProfileError) -> Section? {
        guard let value = table[key] else { return nil }
        guard let t = value.table else { throw wrongType(key, expected: "a table") }
        return Section(table: t, path: path + [key], context: context)
    }

    /// A duration string ("90s", "1m30s") or a bare integer meaning seconds.
    func duration(_ key: String) throws(ProfileError) -> Seconds? {
        guard let value = table[key] else { return nil }
        do throws(UnitError) {
            if let n = value.int { return try Units.duration(seconds: n) }
            if let s = value.string { return try Units.parseDuration(s) }
        } catch {
            throw self.error(.invalidValue, key, error.message)
        }
        throw wrongType(key, expected: "a duration such as \"10s\" or a number of seconds")
    }

    /// A string that must be one of an enum's raw values.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(ProfileError) -> T?
    where T.RawValue == String {
        guard let s = try string(key) else { return nil }
        if let v = T(rawValue: s) { return v }
        let names = T.allCases.map(\.rawValue)
        let hint = Suggest.closest(to: s, in: names).map { "did you mean \"\($0)\"?" }
            ?? "use one of " + names.map { "\"\($0)\"" }.joined(separator: ", ")
        throw error(.invalidValue, key, "unknown value \"\(s)\"", hint: hint)
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .int: "an integer"
        case .double: "a float"
        case .string: "a string"
        case .bool: "a boolean"
        case .table: "a table"
        case .array: "an array"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }
}
