import Testing
import Glibc
import CSys
@testable import Launch

@Suite struct ProcessIDsTests {
    @Test func nsPidsOfAFdinfoText() {
        let fdinfo = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\t2\n"
        #expect(ProcessIDs.nsPids(in: fdinfo) == [4242, 2])
    }

    @Test func nsPidsOfAStatusText() {
        let status = "Name:\tbash\nNSpid:\t17 1\nPPid:\t3\n"
        #expect(ProcessIDs.nsPids(in: status) == [17, 1])
        #expect(ProcessIDs.nsPids(in: "Name:\tbash\nNSpid:\t17\tx1\t5") == [17, 5])   // a token that is no pid is skipped
        #expect(ProcessIDs.nsPids(in: "Name:\tbash\nPid:\t17\n") == nil)
        #expect(ProcessIDs.nsPids(in: "") == nil)
    }

    @Test func pidOfAPidfdIsTheChildsPid() throws {
        var child: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { argv.forEach { free($0) } }
        try #require(posix_spawn(&child, "/bin/sleep", nil, nil, argv, nil) == 0)
        defer { kill(child, SIGKILL); var st: Int32 = 0; waitpid(child, &st, 0) }
        let fd = rwk_pidfd_open(child)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(ProcessIDs.pid(ofPidfd: fd) == child)
    }
}
