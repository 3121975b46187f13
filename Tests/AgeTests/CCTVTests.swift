import Testing
import Glibc
import CZlib
@testable import Age

/// Runs every C2SP CCTV age vector (Fixtures/cctv, 0BSD) and reports counts by outcome.
@Suite struct CCTVTests {
    static let dir: String = {
        let here = #filePath
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures/cctv"
    }()

    struct Vector {
        var name: String
        var expect: String
        var payloadHash: String?
        var identities: [String] = []
        var passphrases: [String] = []
        var armored = false
        var compressed = false
        var body: [UInt8]
    }

    static func load(_ name: String) -> Vector {
        let data = readFile(dir + "/" + name)
        var i = 0
        var v = Vector(name: name, expect: "", body: [])
        while true {
            let nl = data[i...].firstIndex(of: 0x0a)!
            let line = String(decoding: data[i..<nl], as: UTF8.self)
            i = nl + 1
            if line.isEmpty { break }
            let parts = line.split(separator: ": ", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "expect": v.expect = parts[1]
            case "payload": v.payloadHash = parts[1]
            case "identity": v.identities.append(parts[1])
            case "passphrase": v.passphrases.append(parts[1])
            case "armored": v.armored = parts[1] == "yes"
            case "compressed": v.compressed = parts[1] == "zlib"
            default: break
            }
        }
        v.body = Array(data[i...])
        if v.compressed { v.body = inflate(v.body) }
        return v
    }

    static func readFile(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        precondition(fd >= 0, "cannot open \(path)")
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func inflate(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var input = input
        return input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                out += chunk[0..<(chunk.count - Int(stream.avail_out))]
                if status == Z_STREAM_END { return out }
                precondition(status == Z_OK, "inflate failed: \(status)")
            }
        }
    }

    static func hex(_ b: [UInt8]) -> String {
        b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// The outcome of decrypting `v`, in CCTV's words.
    static func outcome(_ v: Vector) -> String {
        var ids: [any Identity] = []
        do {
            for text in v.identities where !text.hasPrefix("AGE-SECRET-KEY-PQ-") {
                let key = secret(text)
                ids += try X25519Identity.parseFile(key)
            }
            for p in v.passphrases {
                ids.append(ScryptIdentity(passphrase: secret(p)))
            }
        } catch { return "bad identity: \(error)" }
        do {
            let plaintext = try AgeFile.decrypt(v.body, identities: ids, armored: v.armored)
            let hash = plaintext.withUnsafeBytes { KDF.sha256($0) }
            return hex(hash) == v.payloadHash ? "success" : "wrong plaintext"
        } catch .armor { return "armor failure"
        } catch .header, .unsupportedVersion, .workFactorTooHigh, .scryptFailed { return "header failure"
        } catch .noMatch { return "no match"
        } catch .hmac { return "HMAC failure"
        } catch .payload { return "payload failure"
        } catch { return "other: \(error)" }
    }

    static var names: [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(".") || name.hasPrefix("README") { continue }
            out.append(name)
        }
        return out.sorted()
    }

    @Test func allVectors() {
        var passed: [String: Int] = [:], failed: [String] = []
        var skipped = 0
        let all = Self.names
        #expect(all.count == 143)
        for name in all {
            let v = Self.load(name)
            let onlyPQ = v.passphrases.isEmpty && !v.identities.isEmpty && v.identities.allSatisfy { $0.hasPrefix("AGE-SECRET-KEY-PQ-") }
            if onlyPQ { skipped += 1; continue }
            let got = Self.outcome(v)
            if got == v.expect { passed[got, default: 0] += 1 } else { failed.append("\(name): expected \(v.expect), got \(got)") }
        }
        let total = passed.values.reduce(0, +)
        print("CCTV age vectors: \(total) of \(total + failed.count) passed, \(skipped) ML-KEM skipped")
        for (k, n) in passed.sorted(by: { $0.key < $1.key }) { print("  \(k): \(n)") }
        for f in failed { print("  FAIL \(f)") }
        #expect(failed.isEmpty)
        #expect(total == 125)
        #expect(skipped == 18)
    }
}
