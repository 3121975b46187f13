import Testing
@Test func placeholderVaultTests() { #expect(true) }
