import CSys
import Glibc
import Launch
import Profile
import Testing

/// "Everything but H" on a real directory tree, and the ruleset the kernel accepts.
@Suite(.timeLimit(.minutes(1)))
struct LandlockTests {
    /// <root>/{home/{.config/{rwk/{identity.txt}, other.conf}, venv/, notes.txt, link -> .config/rwk}, sibling/}
    func tree() -> String {
        var template = Array("/tmp/landlock-tests.XXXXXX".utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        for d in ["home", "home/.config", "home/.config/rwk", "home/venv", "sibling"] { mkdir(root + "/" + d, 0o700) }
        for f in ["home/.config/rwk/identity.txt", "home/.config/other.conf", "home/notes.txt"] { writeFile(root + "/" + f, "x") }
        symlink(root + "/home/.config/rwk", root + "/home/link")
        return root
    }

    func remove(_ root: String) { _ = system("rm -rf '\(root)'") }

    @Test func theDirectoriesOnTheWayGetEntriesRulesThatSkipTheWayAndTheHiddenPaths() throws {
        let root = tree()
        defer { remove(root) }
        let hidden = Landlock.hiddenSet([root + "/home/.config/rwk", root + "/home/.config/rwk/identity.txt",
                                         root + "/home/link/identity.txt"])
        #expect(hidden == [root + "/home/.config/rwk"])  // the link resolves into it; inner paths are dropped
        let (paths, entries) = Landlock.everythingBut(hidden, access: 0xFFFF)
        #expect(paths == [Landlock.PathRule(path: "/", access: RWK_LL_FS_READ_DIR)])
        let tmp = root.split(separator: "/").first.map(String.init) ?? ""
        #expect(entries.map(\.directory) == ["/", "/" + tmp, root, root + "/home", root + "/home/.config"])
        #expect(entries.map(\.except) == [[tmp], [String(root.split(separator: "/").last!)], ["home"], [".config"], ["rwk"]])
        #expect(entries.allSatisfy { $0.access == 0xFFFF })
    }

    @Test func aHiddenPathThatDoesNotExistYetStillShapesItsAncestors() throws {
        let root = tree()
        defer { remove(root) }
        let hidden = Landlock.hiddenSet([root + "/home/.config/new/../rwk2/vault.age.lock"])
        #expect(hidden == [root + "/home/.config/rwk2/vault.age.lock"])
        let entries = Landlock.everythingBut(hidden, access: 1).entries
        #expect(entries.suffix(2).map(\.directory) == [root + "/home/.config", root + "/home/.config/rwk2"])
        #expect(entries.suffix(2).map(\.except) == [["rwk2"], ["vault.age.lock"]])
    }

    @Test func noHiddenPathsMeansEverything() {
        let (paths, entries) = Landlock.everythingBut([], access: 7)
        #expect(paths == [Landlock.PathRule(path: "/", access: 7)] && entries.isEmpty)
    }

    /// The entries rules as the kernel enforces them: siblings on the way (files,
    /// directories, the system) stay usable; the hidden directory, a symlink into
    /// it, and a hidden path created after the ruleset are not.
    @Test func theKernelEnforcesEverythingButTheHiddenPaths() throws {
        guard case .abi = Landlock.support else { return }
        let root = tree()
        defer { remove(root) }
        writeFile(root + "/home/venv/python", "py")
        let hidden = [root + "/home/.config/rwk", root + "/home/.config/later/vault.age"]
        let (_, ruleset) = try Containment.plan(SandboxSpec(), keyMaterial: hidden, profilePath: "p.toml")
        let fd = try #require(ruleset).create()
        defer { close(fd) }
        mkdir(root + "/home/.config/later", 0o700)
        writeFile(root + "/home/.config/later/vault.age", "v")
        var request = sh("""
            for f in home/.config/rwk/identity.txt home/link/identity.txt home/.config/later/vault.age \
                     home/notes.txt home/.config/other.conf home/venv/python; do
              cat \(root)/$f 2>/dev/null || printf denied; echo; done
            echo new > \(root)/sibling/made && cat \(root)/sibling/made; test -r /usr/bin/env && echo system
            """)
        request.landlock = fd
        let out = try run(request)
        #expect(lines(out.stdout) == ["denied", "denied", "denied", "x", "x", "py", "new", "system"])
    }

    /// A root bot under hide-keys: `/proc` and `/sys` leave the `/` entries rule
    /// for read-only rules of their own; not for another bot, and not for a tree
    /// that holds key material.
    @Test func aRootBotGetsTheKernelInterfacesReadOnly() throws {
        let hidden = ["/var/tmp/rwk-home"]
        let (_, forRoot) = try Containment.plan(SandboxSpec(), keyMaterial: hidden, profilePath: "p.toml", rootBot: true, support: .abi(7))
        let rules = try #require(forRoot)
        #expect(rules.pathRules.filter { $0.path != "/" } == Landlock.kernelInterfaces.map {
            Landlock.PathRule(path: $0, access: Landlock.execRights) })
        let top = try #require(rules.entryRules.first { $0.directory == "/" })
        #expect(top.except == ["proc", "sys", "var"])
        let (_, forUser) = try Containment.plan(SandboxSpec(), keyMaterial: hidden, profilePath: "p.toml", rootBot: false, support: .abi(7))
        #expect(try #require(forUser).pathRules.map(\.path) == ["/"])
        #expect(try #require(forUser).entryRules.first { $0.directory == "/" }?.except == ["var"])
        let (_, piped) = try Containment.plan(SandboxSpec(), keyMaterial: hidden + ["/proc/4242/fd/63"], profilePath: "p.toml",
                                              rootBot: true, support: .abi(7))
        #expect(try #require(piped).pathRules.filter { $0.path != "/" }.map(\.path) == ["/sys"])
    }

    /// `PreparedContainment` (the plan and ruleset on a second thread, while a
    /// launch decrypts) gives what `Containment.plan` and `create()` give, and
    /// throws the same error.
    @Test func theRulesetBuiltOnASecondThreadIsTheSameAndItsErrorsComeBack() throws {
        guard case .abi = Landlock.support else { return }
        let root = tree()
        defer { remove(root) }
        let hidden = [root + "/home/.config/rwk"]
        let prepared = PreparedContainment(SandboxSpec(), keyMaterial: hidden, profilePath: "p.toml")
        let (c, ruleset) = try prepared.plan()
        let (same, sameRuleset) = try Containment.plan(SandboxSpec(), keyMaterial: hidden, profilePath: "p.toml")
        #expect(c.hiddenPaths == same.hiddenPaths && c.status(.filesystem)?.detail == same.status(.filesystem)?.detail)
        #expect(ruleset?.entryRules.map(\.directory) == sameRuleset?.entryRules.map(\.directory))
        let fd = try #require(try prepared.rulesetFd())
        defer { close(fd) }
        #expect(fcntl(fd, F_GETFD) == FD_CLOEXEC)
        var request = sh("cat \(root)/home/.config/rwk/identity.txt 2>/dev/null || echo denied; cat \(root)/home/notes.txt")
        request.landlock = fd
        #expect(lines(try run(request).stdout) == ["denied", "x"])

        var allowlist = SandboxSpec()
        allowlist.filesystem = .allowlist
        allowlist.read = [SandboxSpec.AccessPath(path: root + "/home", key: "sandbox.read", line: 3)]
        let failing = PreparedContainment(allowlist, keyMaterial: hidden, profilePath: "p.toml")
        var message = ""
        do { _ = try failing.plan() } catch { message = error.description }
        #expect(message.contains("contains run-with-keys' key material \(root)/home/.config/rwk (line 3)"))
        #expect(try failing.rulesetFd() == nil)
    }

    @Test func rightsFollowTheABI() {
        #expect(Landlock.filesystemRights(abi: 0) == 0)
        #expect(Landlock.filesystemRights(abi: 1) == (1 << 13) - 1)
        #expect(Landlock.filesystemRights(abi: 2) & RWK_LL_FS_REFER != 0)
        #expect(Landlock.filesystemRights(abi: 4) & RWK_LL_FS_IOCTL_DEV == 0)
        #expect(Landlock.filesystemRights(abi: 7) == (1 << 16) - 1)
    }

    @Test func identityCommandPathTokensSkipProgramsTheBotCantChangeAndRoot() {
        // /bin/cat and /usr/bin/age belong to root: a bot of another uid can't rewrite them.
        let tokens = Landlock.pathTokens(in: "/bin/cat '/srv/keys/id.txt' --store=~/.password-store | /usr/bin/age -d /",
                                         userHome: "/home/u", botUid: 4242)
        #expect(tokens == ["/srv/keys/id.txt", "/home/u/.password-store"])
        // A program the bot's uid owns (or any, for a root bot) is hidden: it could be rewritten.
        var template = Array("/tmp/landlock-tokens.XXXXXX".utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        let script = root + "/getkey.sh"
        writeFile(script, "#!/bin/sh\n", mode: 0o700)
        defer { unlink(script); rmdir(root) }
        #expect(Landlock.pathTokens(in: script, userHome: "/home/u", botUid: geteuid()) == [script])
        #expect(Landlock.pathTokens(in: "/bin/cat", userHome: "/home/u", botUid: 0) == ["/bin/cat"])
    }

    @Test func containmentWithoutLandlockIsMissingAndRequireRefuses() throws {
        var sandbox = SandboxSpec()
        sandbox.connect = [443]
        let (c, ruleset) = try Containment.plan(sandbox, keyMaterial: ["/nonexistent-rwk/home"], profilePath: "p.toml",
                                                support: .unavailable(errno: ENOSYS))
        #expect(ruleset == nil)
        #expect(c.status(.filesystem)?.missing?.hasPrefix("this kernel has no Landlock") == true)
        let w = c.warnings()
        #expect(w.count == 1 && w[0].message.hasPrefix("filesystem, network, signal and abstract socket containment are off: this kernel has no Landlock"))
        #expect(throws: PlanError.self) { try c.enforce(required: [.network]) }
        #expect(c.warnings(required: [.filesystem, .network, .signals, .abstractSockets]).isEmpty)

        let (old, _) = try Containment.plan(sandbox, keyMaterial: [], profilePath: "p.toml", support: .abi(3))
        #expect(old.status(.filesystem)?.active == true && old.status(.network)?.active == false)
        #expect(old.status(.network)?.missing == "this kernel's Landlock is ABI 3; TCP port rules needs ABI 4 (Linux 6.7+)")
        #expect(old.status(.abstractSockets)?.missing == "this kernel's Landlock is ABI 3; abstract Unix socket scoping needs ABI 6 (Linux 6.12+)")
        let (now, scoped) = try Containment.plan(sandbox, keyMaterial: [], profilePath: "p.toml", support: .abi(6))
        #expect(now.status(.abstractSockets)?.active == true && now.status(.signals)?.active == true)
        #expect(scoped?.scoped == RWK_LL_SCOPE_ABSTRACT_UNIX_SOCKET | RWK_LL_SCOPE_SIGNAL)
    }

    @Test func theKernelAcceptsTheRulesetAndTheChildIsConfined() throws {
        guard case .abi = Landlock.support else { return }
        let root = tree()
        defer { remove(root) }
        var sandbox = SandboxSpec()
        sandbox.connect = []
        let (_, ruleset) = try Containment.plan(sandbox, keyMaterial: [root + "/home/.config/rwk"], profilePath: "p.toml")
        let fd = try #require(ruleset).create()
        defer { close(fd) }
        var request = sh("cat \(root)/home/.config/rwk/identity.txt 2>/dev/null || echo denied; cat \(root)/home/notes.txt; echo")
        request.landlock = fd
        let out = try run(request)
        #expect(lines(out.stdout) == ["denied", "x"])
    }

    /// In a process of its own (an exit test): it depends on fd numbers, which
    /// tests running in parallel in one process reuse under each other.
    @Test func anFdMappedOntoTheRulesetNumberDoesNotClobberIt() async {
        guard case .abi = Landlock.support else { return }
        await #expect(processExitsWith: .success) {
            let (_, ruleset) = try Containment.plan(SandboxSpec(), keyMaterial: [], profilePath: "p.toml")
            guard let ruleset else { exit(2) }
            let fd = try ruleset.create()
            let (r, w) = makePipe()
            var request = sh("echo mapped >&\(fd); cat /etc/hostname >/dev/null && echo ok")
            request.landlock = fd
            request.fds = [FdMapping(w, to: fd)]
            let out = try run(request)
            close(r); close(w); close(fd)
            if lines(out.stdout) != ["ok"] {
                print("stdout: \(out.stdout)\nstderr: \(out.stderr)\nstatus: \(out.status)")
                exit(1)
            }
        }
    }
}
