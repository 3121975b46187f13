/// The BPF program of `seccomp = "default"` with the errno action and nothing
/// added (no `[sandbox] deny`, `allow`, `connect` or `bind = []`), built in so
/// that a launch does not run libseccomp: `SeccompPolicy.compile` returns it
/// for exactly that policy. `BuiltInFilterTests` checks that it equals what
/// libseccomp (`seccomp_export_bpf`) exports for the same rules on this
/// machine (with its binary-tree optimisation, SCMP_FLTATR_CTL_OPTIMIZE = 2);
/// when libseccomp or the default denylist changes, that test fails
/// and prints the new table. Only x86_64 has one; elsewhere libseccomp compiles it.
/// Nothing is read from disk: the program is part of the binary.
enum BuiltInFilter {
    /// (code, jt, jf, k): `struct sock_filter` (linux/filter.h), in order.
    typealias Instruction = (code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)

    #if arch(x86_64)
    static let defaultDenylist: [Instruction]? = [
        (0x0020, 0, 0, 0x00000004),
        (0x0015, 0, 54, 0xc000003e),
        (0x0020, 0, 0, 0x00000000),
        (0x0035, 0, 1, 0x40000000),
        (0x0015, 0, 51, 0xffffffff),
        (0x0020, 0, 0, 0x00000000),
        (0x0025, 0, 39, 0x000000a9),
        (0x0025, 0, 19, 0x00000137),
        (0x0025, 0, 9, 0x000001ac),
        (0x0025, 0, 4, 0x000001b0),
        (0x0015, 45, 0, 0x000001ba),
        (0x0015, 44, 0, 0x000001b8),
        (0x0015, 43, 0, 0x000001b6),
        (0x0015, 42, 41, 0x000001b1),
        (0x0015, 41, 0, 0x000001b0),
        (0x0015, 40, 0, 0x000001af),
        (0x0015, 39, 0, 0x000001ae),
        (0x0015, 38, 37, 0x000001ad),
        (0x0025, 0, 4, 0x00000143),
        (0x0015, 36, 0, 0x000001ac),
        (0x0015, 35, 0, 0x000001ab),
        (0x0015, 34, 0, 0x000001aa),
        (0x0015, 33, 32, 0x000001a9),
        (0x0015, 32, 0, 0x00000143),
        (0x0015, 31, 0, 0x00000141),
        (0x0015, 30, 0, 0x00000140),
        (0x0015, 29, 28, 0x00000139),
        (0x0025, 0, 9, 0x000000f8),
        (0x0025, 0, 4, 0x0000012f),
        (0x0015, 26, 0, 0x00000137),
        (0x0015, 25, 0, 0x00000136),
        (0x0015, 24, 0, 0x00000134),
        (0x0015, 23, 22, 0x00000130),
        (0x0015, 22, 0, 0x0000012f),
        (0x0015, 21, 0, 0x0000012a),
        (0x0015, 20, 0, 0x000000fa),
        (0x0015, 19, 18, 0x000000f9),
        (0x0025, 0, 4, 0x000000b0),
        (0x0015, 17, 0, 0x000000f8),
        (0x0015, 16, 0, 0x000000f6),
        (0x0015, 15, 0, 0x000000d4),
        (0x0015, 14, 13, 0x000000b3),
        (0x0015, 13, 0, 0x000000b0),
        (0x0015, 12, 0, 0x000000af),
        (0x0015, 11, 0, 0x000000ad),
        (0x0015, 10, 9, 0x000000ac),
        (0x0025, 0, 4, 0x000000a5),
        (0x0015, 8, 0, 0x000000a9),
        (0x0015, 7, 0, 0x000000a8),
        (0x0015, 6, 0, 0x000000a7),
        (0x0015, 5, 4, 0x000000a6),
        (0x0015, 4, 0, 0x000000a5),
        (0x0015, 3, 0, 0x000000a3),
        (0x0015, 2, 0, 0x0000009b),
        (0x0015, 1, 0, 0x00000065),
        (0x0006, 0, 0, 0x7fff0000),
        (0x0006, 0, 0, 0x00050001),
    ]
    #else
    static let defaultDenylist: [Instruction]? = nil
    #endif

    /// The instructions as the little-endian bytes the kernel takes.
    static func program(_ instructions: [Instruction]) -> BPFProgram {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(instructions.count * 8)
        for i in instructions {
            bytes += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jt, i.jf,
                      UInt8(i.k & 0xff), UInt8((i.k >> 8) & 0xff), UInt8((i.k >> 16) & 0xff), UInt8(i.k >> 24)]
        }
        return BPFProgram(bytes: bytes)
    }

    /// The built-in program, once, when this machine has one.
    static let defaultProgram: BPFProgram? = defaultDenylist.map(program)
}
