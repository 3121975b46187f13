@testable import Accounts
import Common
import Glibc
@testable import Launch
import Testing

/// Users and groups without NSS: the files parsed by hand, getent for the rest.
/// The oracle for real accounts is `id` (a dynamic program, so glibc's NSS answers).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct AccountsTests {
    @Test func passwdAndGroupLinesParse() {
        let passwd = Array("""
            # comment
            root:x:0:0:root:/root:/bin/bash
            +nisuser::::::
            -other::::::
            broken:x:abc:0::/:/bin/sh
            short:x:1:1
            bot:x:1001:1002:Bot,,,:/srv/bot:/usr/sbin/nologin

            """.utf8)
        #expect(Accounts.parsePasswd(passwd) == [UserRecord(name: "root", uid: 0, gid: 0, home: "/root"),
                                                 UserRecord(name: "bot", uid: 1001, gid: 1002, home: "/srv/bot")])
        let group = Array("staff:x:50:alice,bot\nempty:x:51:\nbad:x:-1:bot\n".utf8)
        #expect(Accounts.parseGroup(group) == [GroupRecord(name: "staff", gid: 50, members: ["alice", "bot"]),
                                               GroupRecord(name: "empty", gid: 51, members: [])])
        #expect(Accounts.parseInitgroups(Array("bot                  27 100\n".utf8)) == [27, 100])
        #expect(Accounts.parseInitgroups(Array("root                 \n".utf8)) == [])
    }

    /// A helper that closes its stdout and stays is killed at the deadline (then
    /// reaped: SIGKILL can't be ignored); it used to be waited for without one.
    @Test func getentThatClosesItsOutputAndStaysIsKilledAtTheDeadline() throws {
        let start = MonotonicClock.nowMs()
        do {
            _ = try GetentRun.run(path: "/bin/sh", arguments: ["-c", "echo a; exec >&-; exec sleep 30"], timeoutMs: 300, call: "getent")
            Issue.record("no timeout")
        } catch {
            #expect(error.errno == ETIMEDOUT)
        }
        let took = MonotonicClock.nowMs() - start
        #expect(took >= 300 && took < 5000)
        let ok = try GetentRun.run(path: "/bin/sh", arguments: ["-c", "echo a; exec >&-; exit 3"], timeoutMs: 5000, call: "getent")
        #expect(ok.status == 3 && ok.output == Array("a\n".utf8))
    }

    /// `group` without `user`: root gets uid 0 with that group alone; anyone else only
    /// when it is already their one group (they can't drop the others).
    @Test func groupAloneIsRootsOrAlreadyOurs() throws {
        #expect(try LaunchPlan.groupAlone(65534, named: "nogroup", euid: 0, callerGroups: [0, 1, 2], profilePath: "p")
                == Credentials(uid: 0, gid: 65534, groups: [65534]))
        #expect(try LaunchPlan.groupAlone(1000, named: "me", euid: 1000, callerGroups: [1000, 1000], profilePath: "p") == nil)
        for groups: [gid_t] in [[1000, 27], [27]] {
            #expect(throws: PlanError.self) {
                try LaunchPlan.groupAlone(1000, named: "me", euid: 1000, callerGroups: groups, profilePath: "p")
            }
        }
    }

    @Test func nsswitchSourcesDropActions() {
        let conf = Array("""
            # passwd: ldap
            passwd:   files [NOTFOUND=return] systemd # trailing
            group:\tfiles
            hosts: files dns

            """.utf8)
        #expect(Accounts.parseNsswitch(conf, database: "passwd") == ["files", "systemd"])
        #expect(Accounts.parseNsswitch(conf, database: "group") == ["files"])
        #expect(Accounts.parseNsswitch(conf, database: "initgroups") == nil)
    }

    @Test func unknownUserAndGroupAreClearErrors() throws {
        let name = "rwk-nosuch-\(getpid())"
        #expect(try Accounts.user(named: name) == nil)
        #expect(try Accounts.group(named: name) == nil)
        #expect(throws: LaunchError.unknownUser(name)) { try Credentials.resolveUser(name) }
        #expect(throws: LaunchError.unknownUser(name)) { try Credentials.resolveUid(name) }
        #expect(throws: LaunchError.unknownGroup(name)) { try Credentials.resolveUser("root", group: name) }
        // An option-looking name never reaches getent.
        #expect(throws: LaunchError.unknownUser("--help")) { try Credentials.resolveUser("--help") }
    }

    @Test func numericIdsNeedNoEntry() throws {
        #expect(try Credentials.resolveUser("0") == Credentials.resolveUser("root"))
        #expect(try Credentials.resolveUser("4242", group: "4343") == Credentials(uid: 4242, gid: 4343, groups: [4343]))
        #expect(try Credentials.resolveUid("4242") == 4242)
        #expect(throws: LaunchError.unknownUser("4294967295")) { try Credentials.resolveUser("4294967295") }
        #expect(throws: LaunchError.unknownUser("99999999999")) { try Credentials.resolveUser("99999999999") }   // it trapped
    }

    @Test(.enabled(if: getuid() == 0, "needs root to create a user and groups (run the tests as root)"))
    func supplementaryGroupsMatchId() throws {
        let user = "rwkacct\(getpid() % 100000)", extra = "rwkgrp\(getpid() % 100000)"
        #expect(shell("groupadd \(extra) && useradd -M -d /nonexistent -s /usr/sbin/nologin -G \(extra),daemon \(user)") == 0)
        defer { _ = shell("userdel \(user); groupdel \(extra)") }
        let creds = try Credentials.resolveUser(user)
        let expected = try #require(capture("id -G \(user)")).split(separator: " ").compactMap { gid_t($0) }
        #expect(creds.groups.sorted() == expected.sorted())
        #expect(creds.groups.first == creds.gid)
        #expect(creds.groups.count == 3)
        #expect(String(creds.uid) == capture("id -u \(user)"))
        // The group option replaces the primary group; the supplementary ones stay.
        let withGroup = try Credentials.resolveUser(user, group: extra)
        #expect(withGroup.gid == expected.first { $0 != creds.gid && $0 != 1 })
    }

    /// A user only nss-systemd knows: a userdb drop-in record in /run/userdb
    /// (systemd's userdb; read by libnss_systemd without systemd running).
    /// Not in /etc/passwd, so only `getent` can find it.
    @Test(.enabled(if: getuid() == 0 && nssSystemd(), "needs root and `passwd: … systemd` with libnss_systemd installed"))
    func userKnownOnlyToNssIsFoundThroughGetent() throws {
        let n = getpid() % 10000
        let user = "rwkdyn\(n)", group = "rwkdyngrp\(n)"
        let uid = 62000 + Int(n % 3000), extraGid = 63000 + Int(n % 2000)
        mkdir("/run/userdb", 0o755)
        writeFile("/run/userdb/\(user).user", """
            {"userName":"\(user)","uid":\(uid),"gid":\(uid),"homeDirectory":"/nonexistent","shell":"/usr/sbin/nologin","disposition":"regular"}
            """)
        writeFile("/run/userdb/\(user).group", #"{"groupName":"\#(user)","gid":\#(uid)}"#)
        writeFile("/run/userdb/\(group).group", #"{"groupName":"\#(group)","gid":\#(extraGid)}"#)
        writeFile("/run/userdb/\(user):\(group).membership", "{}")
        defer {
            for f in ["\(user).user", "\(user).group", "\(group).group", "\(user):\(group).membership"] { unlink("/run/userdb/" + f) }
        }
        #expect(capture("grep -c '^\(user):' /etc/passwd") == "0", "the user must not be in /etc/passwd")
        let record = try #require(try Accounts.user(named: user))
        #expect(record.uid == uid_t(uid) && record.gid == gid_t(uid) && record.home == "/nonexistent" && record.viaGetent)
        #expect(try Accounts.user(named: "root")?.viaGetent == false)
        #expect(try Accounts.group(named: group)?.gid == gid_t(extraGid))
        let creds = try Credentials.resolveUser(user)
        #expect(creds.uid == uid_t(uid) && creds.gid == gid_t(uid))
        #expect(creds.groups.contains(gid_t(extraGid)))
        #expect(try Credentials.resolveUser(user, group: group).gid == gid_t(extraGid))
    }
}

private func nssSystemd() -> Bool {
    guard let conf = try? Accounts.parseNsswitch(readBytes("/etc/nsswitch.conf"), database: "passwd") else { return false }
    return conf.contains("systemd") && access("/usr/bin/getent", X_OK) == 0
        && (access("/lib/x86_64-linux-gnu/libnss_systemd.so.2", F_OK) == 0 || access("/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2", F_OK) == 0
            || access("/lib64/libnss_systemd.so.2", F_OK) == 0)
}

private func readBytes(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    while true { let c = fgetc(f); if c == EOF { return out }; out.append(UInt8(c)) }
}

private func shell(_ command: String) -> Int32 {
    let status = system("timeout 20 sh -c '\(command)' >/dev/null 2>&1")
    return (status >> 8) & 0xff
}

/// The trimmed stdout of a short shell command, or nil when it fails.
private func capture(_ command: String) -> String? {
    guard let p = popen("timeout 20 \(command)", "r") else { return nil }
    var out: [UInt8] = []
    while true { let c = fgetc(p); if c == EOF { break }; out.append(UInt8(c)) }
    let status = pclose(p)
    let text = String(decoding: out, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    return status == 0 || command.hasPrefix("grep -c") ? text : nil
}
