import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Profile

/// ATK1-B: a template is trusted like a profile (owner/mode) and may name only
/// secrets the profile declares, in `[keys]` or in the template's `secrets` list.
@Suite struct TemplateRuleTests {
    static let template = "{\"k\": \"{{ rwk://app/key }}\",\n \"o\": \"{{ rwk://app/other }}\"}\n"

    func profile(_ dir: TempDirectory, _ extra: String) throws -> String {
        try dir.write("c.json.tmpl", Self.template)
        return try dir.write("bot.toml", "command = [\"/bin/true\"]\n" + extra)
    }

    @Test func anUndeclaredSecretIsRefusedNamingTemplateSecretAndLine() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try profile(dir, "[keys]\nKEY = \"app/key\"\n[templates]\nCONFIG = { source = \"c.json.tmpl\" }\n")
        let error = #expect(throws: ProfileError.self) { try Profile.load(path: file) }
        let message = error?.message ?? ""
        #expect(message.contains("template CONFIG") && message.contains("c.json.tmpl line 2"))
        #expect(message.contains("\"app/other\"") && !message.contains("\"app/key\""))
        #expect(error?.hints.contains { $0.contains("secrets = [\"app/other\"]") } == true)
    }

    @Test func secretsInKeysOrTheTemplatesListAreAccepted() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try profile(dir, "[keys]\nKEY = \"app/key\"\n[templates]\n"
                                    + "CONFIG = { source = \"c.json.tmpl\", secrets = [\"app/other\"] }\n")
        let p = try Profile.load(path: file)
        #expect(p.templates.map(\.references) == [["app/key", "app/other"]])
        let both = try profile(dir, "[templates]\nCONFIG = { source = \"c.json.tmpl\", secrets = [\"app/key\", \"app/other\"] }\n")
        #expect(try Profile.load(path: both).templates.count == 1)
    }

    @Test func aTemplateWritableByOthersIsRefused() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try profile(dir, "[templates]\nCONFIG = { source = \"c.json.tmpl\", secrets = [\"app/key\", \"app/other\"] }\n")
        chmod(dir.path + "/c.json.tmpl", 0o666)
        let error = #expect(throws: ProfileError.self) { try Profile.load(path: file) }
        #expect(error?.message.contains("refusing a template that others could have written") == true)
        #expect(error?.message.contains("writable by others") == true)
    }
}
