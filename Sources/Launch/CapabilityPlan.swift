import Common
import CSys
import Profile

/// What the plan decides about capabilities(7): which the bot keeps, whether we
/// can give them, and whether the child can make the drop last. The child does
/// the dropping (claunch.c, `step_bounding_set` and `step_capabilities`).
struct CapabilityPlan {
    /// This process's sets, bit N for capability N (`rwk_capabilities`); nil
    /// when they weren't needed or couldn't be read.
    let held: (permitted: UInt64, effective: UInt64, bounding: UInt64)?
    /// `[sandbox] capabilities` as the kernel's bits (`Capability.mask`).
    let keep: UInt64
    let kept: [Capability]

    static let setpcap: UInt64 = 1 << 8
    static let sysAdmin: UInt64 = 1 << 21

    /// Reads our sets only where they matter (about 40 system calls): kept
    /// capabilities, or a profile without no_new_privs.
    init(_ sandbox: SandboxSpec) {
        kept = sandbox.capabilities
        keep = Capability.mask(kept)
        var h: (permitted: UInt64, effective: UInt64, bounding: UInt64) = (0, 0, 0)
        let needed = !kept.isEmpty || !sandbox.noNewPrivileges
        held = needed && rwk_capabilities(&h.permitted, &h.effective, &h.bounding) == 0 ? h : nil
    }

    /// The child keeps only what we hold: one warning for the listed ones we don't.
    var warnings: [(message: String, hint: String?)] {
        guard let held else { return [] }
        let missing = kept.filter { held.permitted & (1 << UInt64($0.number)) == 0 }.map(\.name)
        guard !missing.isEmpty else { return [] }
        return [("[sandbox] capabilities: run-with-keys doesn't hold \(missing.joined(by: ", ")), so the bot won't have \(missing.count == 1 ? "it" : "them")",
                 "run run-with-keys as root, or give it the capability (AmbientCapabilities= in a unit)")]
    }

    /// Whether the bot keeps CAP_SYS_ADMIN, which installing a seccomp filter
    /// without no_new_privs takes (seccomp(2)).
    var keepsSysAdmin: Bool { keep & Self.sysAdmin != 0 }

    /// Without no_new_privs (the profile's, or ours, inherited) the child empties
    /// the bounding set, which takes CAP_SETPCAP (a bot of its own user namespace
    /// holds it there); else the bot's next execve, as root or of a
    /// set-user-ID-root program, would get the rest back.
    /// - Throws: `PlanError` (exit 125) when the child couldn't.
    func checkBoundingSet(_ sandbox: SandboxSpec, tree: TreeMode, profilePath: String) throws(PlanError) {
        guard let held, !sandbox.noNewPrivileges, rwk_no_new_privs() != 1, tree != .userNamespace,
              held.effective & Self.setpcap == 0, held.bounding & ~keep != 0 else { return }
        throw PlanError("\(profilePath): [sandbox] no_new_privileges = false, but run-with-keys lacks CAP_SETPCAP to empty the bot's bounding set: its next execve, as root or of a set-user-ID program, could get capabilities back",
                        hints: ["remove no_new_privileges = false, or give run-with-keys CAP_SETPCAP (CapabilityBoundingSet= in a unit)"])
    }
}
