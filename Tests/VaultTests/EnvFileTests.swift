import Testing
import Age
@testable import Vault

@Suite struct EnvFileTests {
    func bytes(_ b: [UInt8]) -> SecretBytes {
        var s = SecretBytes(count: b.count)
        s.withUnsafeMutableBytes { $0.copyBytes(from: b) }
        return s
    }

    @Test func referencesAndSettings() throws {
        let entries = try EnvFile.parse(secret("API_KEY=rwk://exchange/key\n\nexport LEVEL=\"debug\"\n"))
        #expect(entries == [
            EnvFile.Entry(variable: "API_KEY", value: "rwk://exchange/key", secret: "exchange/key", line: 1),
            EnvFile.Entry(variable: "LEVEL", value: "debug", secret: nil, line: 3),
        ])
    }

    /// A value that is not UTF-8 used to become U+FFFD in the child's environment
    /// (found while writing the envfile fuzz target; input in fuzz/corpus/envfile/not-utf8).
    @Test func valueThatIsNotUTF8IsRefused() {
        let input: [UInt8] = Array("A=ok\nB=x".utf8) + [0xff, 0xfe] + Array("y\n".utf8)
        #expect(throws: VaultError.self) { try EnvFile.parse(bytes(input)) }
        do { _ = try EnvFile.parse(bytes(input)) } catch {
            #expect(error.message == "line 2: the value of B is not UTF-8 text")
            #expect(!error.message.utf8.contains(0xff))
        }
    }

    @Test func valueWithNULIsRefused() {
        do {
            _ = try EnvFile.parse(bytes(Array("A=\"x\\".utf8) + [0] + Array("y\"\n".utf8)))
            Issue.record("accepted a NUL")
        } catch {
            #expect(error.message == "line 1: the value of A contains a NUL byte")
        }
    }

    /// fuzz/corpus/envfile/crash-lone-cr: a CR alone at the start of a line failed the whole
    /// file with "unexpected characters after the closing quote" on a line with no quote.
    @Test func loneCarriageReturnIsABlank() throws {
        let entries = try EnvFile.parse(secret("A=1\n\rB=2\n\r\rC=\"3\"\n\r"))
        #expect(entries.map(\.variable) == ["A", "B", "C"])
        #expect(entries.map(\.value) == ["1", "2", "3"])
        #expect(entries.map(\.line) == [1, 2, 3])
        // After a closing quote, a lone CR is still an error, and names the quote's line.
        #expect(throws: VaultError.self) { try EnvFile.parse(secret("A=1\nB=\"2\"\rC=3\n")) }
    }
}
