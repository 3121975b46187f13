#if canImport(Glibc)
import Glibc
#endif

/// A directory under /tmp made with mkdtemp; `remove()` deletes what `write` created.
final class TempDirectory {
    let path: String
    private var created: [String] = []

    init() throws {
        var template = Array("/tmp/profile-tests.XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw TempError(what: "mkdtemp") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `text` to `relative`, creating parent directories.
    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        var directory = path
        for part in relative.split(separator: "/").dropLast() {
            directory += "/" + part
            if mkdir(directory, 0o700) == 0 { created.append(directory) }
        }
        let file = path + "/" + relative
        guard let f = fopen(file, "w") else { throw TempError(what: "fopen \(file)") }
        fputs(text, f)
        fclose(f)
        created.append(file)
        return file
    }

    func remove() {
        for entry in created.reversed() where unlink(entry) != 0 { rmdir(entry) }
        rmdir(path)
    }
}

struct TempError: Error { var what: String }
