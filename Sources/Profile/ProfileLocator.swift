#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns the PROFILE argument into a file path (docs/ARCHITECTURE.md, "Finding a profile").
public enum ProfileLocator {
    /// The system-wide profile directory, searched after `<home>/profiles`.
    public static let systemDirectory = "/etc/run-with-keys/profiles"

    /// An argument containing "/" or ending in ".toml" is a path and is returned as is. Otherwise
    /// NAME is looked up as `<home>/profiles/NAME.toml`, then
    /// `/etc/run-with-keys/profiles/NAME.toml`; the first that exists wins. The
    /// current directory is not searched: it is often the bot's own workdir, and a
    /// bot must not be able to plant the profile that a name resolves to (nor
    /// should `audit` depend on where it is run).
    public static func resolve(_ arg: String, home: String, cwd: String? = nil) throws(ProfileError) -> String {
        if arg.contains("/") || arg.hasSuffix(".toml") { return arg }
        guard !arg.isEmpty, !arg.hasPrefix(".") else {
            throw ProfileError(kind: .notFound, message: "\"\(arg)\" is not a profile name",
                               hint: "give a name such as \"bot\" or a path to a .toml file")
        }
        let directories = searchDirectories(home: home, cwd: cwd)
        for directory in directories {
            let candidate = directory + "/" + arg + ".toml"
            if exists(candidate) { return candidate }
        }
        throw ProfileError(kind: .notFound, message: "profile \"\(arg)\" not found",
                           hint: "looked for \(arg).toml in " + directories.joined(separator: ", "))
    }

    /// The directories searched for profile names, in order, without duplicates.
    public static func searchDirectories(home: String, cwd: String? = nil) -> [String] {
        var result: [String] = []
        for directory in [join(home, "profiles"), systemDirectory]
        where !result.contains(directory) {
            result.append(directory)
        }
        return result
    }

    /// The directories `audit` and completion read: `extra` (audit's `--profiles DIR`, in the order
    /// given) and then `searchDirectories(home:)`, without duplicates. Never the current directory.
    public static func searchDirectories(home: String, extra: [String]) -> [String] {
        var result: [String] = []
        for directory in extra + searchDirectories(home: home) where !result.contains(directory) {
            result.append(directory)
        }
        return result
    }

    /// Every profile in `directories`: a `NAME.toml` entry (not starting with ".") gives NAME;
    /// when several directories have NAME, the first wins, as for `resolve`. Sorted by name.
    /// A directory that is missing or unreadable gives nothing. Only reads directory entries.
    public static func profiles(in directories: [String]) -> [(name: String, path: String)] {
        var seen = Set<String>(), result: [(name: String, path: String)] = []
        for directory in directories {
            for file in entries(in: directory, suffix: ".toml") {
                let name = Profile.stem(of: file)
                if seen.insert(name).inserted { result.append((name, join(directory, file))) }
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    /// The names in `directory` that end in `suffix` and don't start with ".", sorted; [] when the
    /// directory can't be opened. See readdir(3).
    public static func entries(in directory: String, suffix: String) -> [String] {
        guard let d = opendir(directory) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasSuffix(suffix) && name.count > suffix.count && !name.hasPrefix(".") { out.append(name) }
        }
        return out.sorted()
    }

    /// run-with-keys' home as the CLI computes it without --home: RUN_WITH_KEYS_HOME, then
    /// $XDG_CONFIG_HOME/run-with-keys, then ~/.config/run-with-keys.
    public static func defaultHome() -> String {
        func env(_ name: String) -> String? {
            guard let v = getenv(name) else { return nil }
            let s = String(cString: v)
            return s.isEmpty ? nil : s
        }
        if let h = env("RUN_WITH_KEYS_HOME") { return h }
        if let x = env("XDG_CONFIG_HOME") { return x + "/run-with-keys" }
        return (env("HOME") ?? "/root") + "/.config/run-with-keys"
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
