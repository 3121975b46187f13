import Testing
@Test func placeholderLaunchTests() { #expect(true) }
