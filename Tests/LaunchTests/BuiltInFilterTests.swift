import Testing
@testable import Launch

/// The built-in default filter is what libseccomp exports for the same policy.
@Suite struct BuiltInFilterTests {
    @Test func builtInDefaultEqualsLibseccompsExport() throws {
        let policy = SeccompPolicy.denylist()
        #expect(policy.isPlainDefault)
        let exported = try policy.compileWithLibseccomp()
        guard let builtIn = BuiltInFilter.defaultProgram else {
            #expect(try policy.compile() == exported, "without a built-in program, compile() is libseccomp's")
            return
        }
        if builtIn != exported {
            // The table to paste into BuiltInFilter.swift.
            var table = ""
            for i in stride(from: 0, to: exported.bytes.count, by: 8) {
                let b = exported.bytes[i..<(i + 8)].map { UInt32($0) }
                let code = b[0] | b[1] << 8, k = b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24
                table += "        (0x" + hex(code, 4) + ", \(b[2]), \(b[3]), 0x" + hex(k, 8) + "),\n"
            }
            Issue.record("BuiltInFilter.defaultDenylist differs from libseccomp's export; the new table:\n\(table)")
        }
        #expect(try policy.compile() == exported)
    }

    @Test func anythingElseIsCompiledByLibseccomp() throws {
        var withDeny = SeccompPolicy.denylist(extra: ["chroot"])
        #expect(!withDeny.isPlainDefault)
        #expect(try withDeny.compile() != SeccompPolicy.denylist().compile())
        withDeny = SeccompPolicy.denylist(action: .kill)
        #expect(!withDeny.isPlainDefault)
        #expect(try withDeny.compile() == withDeny.compileWithLibseccomp())
        var guarded = SeccompPolicy.denylist()
        guarded.argumentRules = SeccompPolicy.networkGuard(connect: true, noBind: false)
        #expect(!guarded.isPlainDefault)
        #expect(try guarded.compile().instructionCount > SeccompPolicy.denylist().compile().instructionCount)
    }

    private func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
