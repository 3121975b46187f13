import Glibc
import Vault
import Profile

/// Checks made while planning, for things the fork child would otherwise only
/// find out after fork: then `check` passes, and `run` fails with a log line
/// instead of an error message.
enum Preflight {
    /// The workdir must exist and be a directory (the child chdirs into it
    /// before dropping privileges, so this is all root can check).
    static func workdir(_ profile: Profile) throws(PlanError) {
        guard let dir = profile.workdir else { return }
        var st = stat()
        if stat(dir, &st) != 0 {
            let e = errno
            throw PlanError("workdir \(dir): \(String(cString: strerror(e)))",
                            hints: ["create it, or fix `workdir` in \(profile.path)"])
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw PlanError("workdir \(dir) is not a directory", hints: ["fix `workdir` in \(profile.path)"])
        }
    }

    /// CAP_SYS_RESOURCE, from linux/capability.h.
    static let capSysResource: UInt64 = 1 << 24

    /// A hard limit above run-with-keys' own can only be set with
    /// CAP_SYS_RESOURCE (root may lack it in a container), and `nofile` never
    /// above fs.nr_open.
    static func limits(_ limits: [ResourceLimit], profile: Profile) throws(PlanError) {
        // CapEff is read (from /proc) only for a limit above our own: most profiles have none.
        var cached: Bool?
        func privileged() -> Bool {
            if let cached { return cached }
            let p = (effectiveCapabilities() ?? 0) & capSysResource != 0
            cached = p
            return p
        }
        for limit in limits {
            var current = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(limit.resource.rawValue)), &current) == 0 else { continue }
            let key = "[limits] " + Self.key(limit.resource)
            if limit.resource == .openFiles, let max = nrOpen(), limit.hard > max {
                throw PlanError("\(key): the hard limit \(show(limit.hard)) is above the kernel's fs.nr_open (\(max))",
                                hints: ["lower it in \(profile.path)"])
            }
            if limit.hard > UInt64(current.rlim_max) && limit.resource == .core && !privileged() {
                throw PlanError("\(key): core dumps need CAP_SYS_RESOURCE: run-with-keys sets its own core limit to 0 "
                                + "(it holds decrypted keys), and the bot's can't be raised above it",
                                hints: ["remove `core` from \(profile.path) (the default is 0), or run as root with CAP_SYS_RESOURCE"])
            }
            if limit.hard > UInt64(current.rlim_max) && !privileged() {
                throw PlanError("\(key): the hard limit \(show(limit.hard)) is above run-with-keys' own (\(show(UInt64(current.rlim_max)))), "
                                + "and raising it needs CAP_SYS_RESOURCE",
                                hints: ["lower it in \(profile.path), or raise the hard limit of whatever starts run-with-keys "
                                        + "(systemd: Limit\(limit.resource.name.dropFirst(7))=; a shell: ulimit -H)"])
            }
        }
    }

    static func key(_ r: ResourceLimit.Resource) -> String {
        LimitResource.allCases.first { LaunchPlan.resourceFor($0) == r }?.rawValue ?? r.name
    }

    static func show(_ v: UInt64) -> String { v == ResourceLimit.unlimited ? "unlimited" : String(v) }

    /// CapEff from /proc/self/status; nil when it can't be read.
    static func effectiveCapabilities() -> UInt64? {
        guard let text = readSmallFile("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst(7).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 16)
        }
        return nil
    }

    /// /proc/sys/fs/nr_open: the most fds a process may ever have.
    static func nrOpen() -> UInt64? {
        readSmallFile("/proc/sys/fs/nr_open").flatMap { UInt64($0.filter { !$0.isWhitespace }) }
    }

    static func readSmallFile(_ path: String) -> String? {
        guard let bytes = try? RegularFile.read(path, limit: 1 << 16), !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
