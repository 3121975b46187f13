import CSys
import Glibc

/// Sealed in-memory files for handing secrets to the bot as an fd.
public enum Memfd {
    /// A close-on-exec memfd holding `contents`, positioned at 0 and sealed
    /// against writing, growing, shrinking and further sealing. Not executable
    /// where the kernel supports MFD_NOEXEC_SEAL (Linux 6.3).
    public static func sealed(name: String, contents: UnsafeRawBufferPointer) throws(LaunchError) -> Int32 {
        let flags = RWK_MFD_CLOEXEC | RWK_MFD_ALLOW_SEALING
        var fd = rwk_memfd_create(name, flags | RWK_MFD_NOEXEC_SEAL)
        if fd < 0 && errno == EINVAL { fd = rwk_memfd_create(name, flags) }
        if fd < 0 { throw .system(call: "memfd_create \(name)", errno: errno) }
        do {
            var done = 0
            while done < contents.count {
                done += try sys("write to memfd \(name)") {
                    write(fd, contents.baseAddress! + done, contents.count - done)
                }
            }
            try sys("lseek memfd \(name)") { lseek(fd, 0, SEEK_SET) }
            let seals = RWK_F_SEAL_WRITE | RWK_F_SEAL_GROW | RWK_F_SEAL_SHRINK | RWK_F_SEAL_SEAL
            try sys("sealing memfd \(name)") { rwk_add_seals(fd, seals) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
