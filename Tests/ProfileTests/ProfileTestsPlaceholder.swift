import Testing
@Test func placeholderProfileTests() { #expect(true) }
