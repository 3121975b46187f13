import Glibc
import Testing
@testable import Vault

/// The owner/mode table of `Sys.checkPrivate` (README, "Which owners and modes are accepted"),
/// on synthetic stat results: no root needed.
@Suite struct FileTrustTests {
    func st(_ owner: uid_t, _ mode: mode_t, _ type: mode_t = S_IFREG, group: gid_t = getegid()) -> stat {
        var s = stat()
        s.st_uid = owner
        s.st_gid = group
        s.st_mode = type | mode
        return s
    }

    func accepted(_ s: stat, ro: Bool = false, pipe: Bool = false) -> Bool {
        (try? Sys.checkPrivate("/x", what: "identity file", s, readOnlyMount: ro, allowPipe: pipe)) != nil
    }

    @Test func table() {
        let me = geteuid()
        let other: uid_t = me == 4242 ? 4243 : 4242
        #expect(accepted(st(me, 0o600)))
        #expect(accepted(st(me, 0o400)))
        #expect(!accepted(st(me, 0o640)))
        #expect(accepted(st(me, 0o644), ro: true))
        #expect(!accepted(st(me, 0o620), ro: true))       // write bits are never excused
        #expect(!accepted(st(other, 0o600)))
        #expect(accepted(st(other, 0o600), ro: true))
        #expect(!accepted(st(other, 0o602), ro: true))
        #expect(accepted(st(0, 0o644), ro: true))
        if me != 0 {
            #expect(accepted(st(0, 0o440)))                // root gave our group read access
            #expect(!accepted(st(0, 0o444)))               // but not everyone
            #expect(!accepted(st(0, 0o440, group: getegid() &+ 1)))   // nor a group that isn't ours (ATK1-K)
        }
        #expect(!accepted(st(me, 0o600, S_IFIFO)))
        #expect(accepted(st(me, 0o600, S_IFIFO), pipe: true))
        #expect(!accepted(st(other, 0o600, S_IFIFO), pipe: true))
        #expect(!accepted(st(me, 0o700, S_IFDIR)))
    }

    @Test func refusalNamesOwnerModeAndFix() {
        do {
            _ = try Sys.checkPrivate("/k/id", what: "identity file", st(geteuid(), 0o644), readOnlyMount: false, allowPipe: false)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.message.contains("mode 0644"))
            #expect(error.message.contains("owner uid \(geteuid())"))
            #expect(error.hints == ["chmod 600 /k/id"])
        }
    }

    @Test func aSharedGroupRefusalNamesTheGroupAndTheChgrp() throws {
        guard geteuid() != 0 else { return }   // the root-gave-group rule is for a non-root caller
        let other = getegid() &+ 1
        let error = #expect(throws: VaultError.self) {
            try Sys.checkPrivate("/k/id", what: "identity file", st(0, 0o640, group: other), readOnlyMount: false, allowPipe: false)
        }
        #expect(error?.message.contains("readable by group \(other), which is not your group") == true)
        #expect(error?.hints.first?.hasPrefix("as root: chgrp \(getegid()) /k/id") == true)
    }

    @Test func modeString() {
        #expect(FileTrust.modeString(0o644) == "0644")
        #expect(FileTrust.modeString(S_IFREG | 0o2775) == "2775")
    }
}
