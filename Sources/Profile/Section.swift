import TOMLKit

/// What every error needs: for each key, the file it was written in, its line, and
/// the directory its relative paths resolve against. A profile that `extends` another
/// has several layers: the profile itself first, the profile it extends next, the base last.
struct ParseContext {
    /// One file of the profile.
    struct Layer {
        let file: String
        let directory: String
        let positions: KeyPositions
    }
    let layers: [Layer]

    init(file: String, positions: KeyPositions) {
        layers = [Layer(file: file, directory: Profile.absoluteDirectory(of: file), positions: positions)]
    }

    init(layers: [Layer]) { self.layers = layers }

    /// The profile's own file.
    var file: String { layers[0].file }

    /// The layer `path` comes from: the first (from the profile towards its base) that
    /// writes it, else the one that writes its closest enclosing table, else the profile.
    func origin(of path: [String]) -> Layer {
        var p = path
        while true {
            if let l = layers.first(where: { $0.positions.line(of: p) != nil }) { return l }
            if p.isEmpty { return layers[0] }
            p.removeLast()
        }
    }

    /// The line of `path` in the file it comes from.
    func line(of path: [String]) -> Int? { origin(of: path).positions.line(of: path) }

    /// The directory relative paths in `path`'s value resolve against: that of the file it was written in.
    func directory(of path: [String]) -> String { origin(of: path).directory }

    /// `keys` of the table at `table`: a base's keys first, in its file order, then those each later layer adds.
    func fileOrder(_ keys: [String], in table: [String]) -> [String] {
        guard layers.count > 1 else { return layers[0].positions.fileOrder(keys, in: table) }
        var result: [String] = []
        for layer in layers.reversed() {
            let written = keys.filter { !result.contains($0) && layer.positions.line(of: table + [$0]) != nil }
            result += layer.positions.fileOrder(written, in: table)
        }
        return result + keys.filter { !result.contains($0) }
    }
}

/// One TOML table of a profile, with typed getters that fail with messages naming the key.
struct Section {
    let table: TOMLTable
    let path: [String]
    let context: ParseContext

    /// This table's keys, in file order.
    var keys: [String] { context.fileOrder(table.keys, in: path) }

    func contains(_ key: String) -> Bool { table[key] != nil }

    func keyPath(_ key: String?) -> String { (key.map { path + [$0] } ?? path).joined(separator: ".") }

    /// `<file>: <key path>: <text> (line N)`.
    func error(_ kind: ProfileError.Kind, _ key: String?, _ text: String, hint: String? = nil) -> ProfileError {
        let full = key.map { path + [$0] } ?? path
        let origin = context.origin(of: full)
        let line = origin.positions.line(of: full)
        let keyPart = key == nil && path.isEmpty ? "" : keyPath(key) + ": "
        let lineSuffix = line.map { " (line \($0))" } ?? ""
        return ProfileError(kind: kind, message: "\(origin.file): \(keyPart)\(text)\(lineSuffix)",
                            hint: hint, line: line)
    }

    func wrongType(_ key: String, expected: String, hint: String? = nil) -> ProfileError {
        let found = table[key].map { Section.describe($0.type) } ?? "nothing"
        return error(.wrongType, key, "expected \(expected), found \(found)", hint: hint)
    }

    /// Unknown keys are errors, with the closest valid key as a hint.
    func checkKeys(_ valid: [String]) throws(ProfileError) {
        for key in keys where !valid.contains(key) {
            let origin = context.origin(of: path + [key])
            let line = origin.positions.line(of: path + [key])
            let where_ = path.isEmpty ? "" : "[\(path.joined(separator: "."))] "
            let hint = Suggest.closest(to: key, in: valid).map { "did you mean \"\($0)\"?" }
                ?? "valid keys here: " + valid.joined(separator: ", ")
            throw ProfileError(kind: .unknownKey,
                               message: "\(origin.file): \(where_)unknown key \"\(key)\"" + (line.map { " (line \($0))" } ?? ""),
                               hint: hint, line: line)
        }
    }

    func string(_ key: String) throws(ProfileError) -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else { throw wrongType(key, expected: "a string") }
        guard !s.utf8.contains(0) else { throw nul(key) }
        return s
    }

    /// A TOML `\u0000` in a string: argv and environment strings end at the first
    /// NUL (execve(2)), so the value would reach the program cut short. Refused.
    func nul(_ key: String, element: Int? = nil) -> ProfileError {
        error(.invalidValue, key, (element.map { "element \($0): " } ?? "") + "contains a NUL byte (\\u0000), which would cut the string short where it is passed on",
              hint: "remove the \\u0000 escape")
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
            guard !s.utf8.contains(0) else { throw nul(key, element: index + 1) }
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
    func duration(_ key: String) throws(ProfileError) -> Milliseconds? {
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
