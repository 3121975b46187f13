import Testing
@Test func placeholderSupervisorTests() { #expect(true) }
