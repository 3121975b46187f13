#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Profile {
    /// Profiles are small; anything bigger is refused before parsing.
    public static let maxFileSize = 1 << 20

    /// Reads and validates the profile at `path`. `name` defaults to the file's stem.
    public static func load(path: String, name: String? = nil) throws(ProfileError) -> Profile {
        let bytes = try readFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ProfileError(kind: .unreadable, message: "\(path): not valid UTF-8")
        }
        return try parse(toml: text, path: path, name: name ?? stem(of: path))
    }

    /// "profiles/bot.toml" -> "bot".
    public static func stem(of path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".toml") && base.count > 5 ? String(base.dropLast(5)) : base
    }

    static func readFile(_ path: String) throws(ProfileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let kind: ProfileError.Kind = errno == ENOENT ? .notFound : .unreadable
            throw ProfileError(kind: kind, message: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw ProfileError(kind: .unreadable, message: "\(path): not a regular file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw ProfileError(kind: .unreadable, message: "\(path): cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
            guard bytes.count <= maxFileSize else {
                throw ProfileError(kind: .unreadable, message: "\(path): larger than \(maxFileSize / 1024) KiB; not a profile")
            }
        }
    }
}
