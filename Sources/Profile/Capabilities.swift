/// A Linux capability the bot may keep: `[sandbox] capabilities`.
/// Numbers and names from linux/capability.h (capabilities(7)), as far as
/// Linux 5.9 (CAP_CHECKPOINT_RESTORE, 40).
public struct Capability: Sendable, Equatable {
    /// The kernel's number: bit `number` of a capability set.
    public let number: Int
    /// Its name as capabilities(7) and systemd write it: "CAP_NET_BIND_SERVICE".
    public var name: String { "CAP_" + Self.names[number].uppercased() }

    /// Index N is capability N's name without its "cap_" prefix.
    static let names = [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
        "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
        "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
        "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
        "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
    ]

    /// "CAP_NET_BIND_SERVICE", "cap_net_bind_service" or "NET_BIND_SERVICE"; nil
    /// for a name capabilities(7) doesn't list.
    public init?(name: String) {
        var n = name.lowercased()
        if n.hasPrefix("cap_") { n.removeFirst(4) }
        guard let i = Self.names.firstIndex(of: n) else { return nil }
        number = i
    }

    /// Every name, for error messages.
    public static var allNames: [String] { names.map { "CAP_" + $0.uppercased() } }

    /// The set as the kernel's bits: bit N for capability N.
    public static func mask(_ caps: [Capability]) -> UInt64 {
        caps.reduce(0) { $0 | (1 << UInt64($1.number)) }
    }
}
