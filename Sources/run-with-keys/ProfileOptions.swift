import ArgumentParser
import Profile

/// Options shared by `run` and `check`: which profile, and how to open its vault.
struct ProfileOptions: ParsableArguments {
    @Argument(help: "Profile name (<home>/profiles/NAME.toml, /etc/run-with-keys/profiles/NAME.toml) or a path.",
              completion: Completion.profiles)
    var profile: String

    func load(_ global: GlobalOptions) throws -> Profile { try Self.load(profile, global.plain) }

    static func load(_ profile: String, _ global: Globals) throws -> Profile {
        let path = try ProfileLocator.resolve(profile, home: global.homeDirectory)
        return try Profile.load(path: path, home: global.homeDirectory)
    }
}
