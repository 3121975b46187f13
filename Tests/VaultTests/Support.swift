import Glibc
import Age
import Vault

func secret(_ text: String) -> SecretBytes {
    let b = Array(text.utf8)
    var s = SecretBytes(count: b.count)
    s.withUnsafeMutableBytes { $0.copyBytes(from: b) }
    return s
}

func text(_ s: borrowing SecretBytes) -> String { s.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

func tempDir() -> String {
    var template = Array("/tmp/rwk-test-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

func removeTree(_ path: String) { _ = system("rm -rf '\(path)'") }

func writeFile(_ path: String, _ content: String, mode: mode_t = 0o600) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    precondition(fd >= 0)
    var c = content
    c.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    fchmod(fd, mode)
    close(fd)
}
