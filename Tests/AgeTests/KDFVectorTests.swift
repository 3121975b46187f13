import Testing
@testable import Age

func unhex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

/// RFC 5869 appendix A (SHA-256 cases) and RFC 7914 section 12.
@Suite struct KDFVectorTests {
    struct HKDFCase: Sendable { var ikm, salt, info, okm: String }
    static let hkdfCases: [HKDFCase] = [
        HKDFCase(ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "000102030405060708090a0b0c",
                 info: "f0f1f2f3f4f5f6f7f8f9",
                 okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        HKDFCase(ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
                 salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                 info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                 okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
        HKDFCase(ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "", info: "",
                 okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ]

    @Test(arguments: hkdfCases) func rfc5869(_ c: HKDFCase) {
        let okm = unhex(c.okm)
        #expect(KDF.hkdfSHA256(ikm: unhex(c.ikm), salt: unhex(c.salt), info: unhex(c.info), count: okm.count) == okm)
    }

    struct ScryptCase: Sendable { var p, s: String; var n: UInt64; var r, par: UInt32; var dk: String }
    static let scryptCases: [ScryptCase] = [
        ScryptCase(p: "", s: "", n: 16, r: 1, par: 1,
                   dk: "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"),
        ScryptCase(p: "password", s: "NaCl", n: 1024, r: 8, par: 16,
                   dk: "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"),
        ScryptCase(p: "pleaseletmein", s: "SodiumChloride", n: 16384, r: 8, par: 1,
                   dk: "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"),
    ]

    @Test(arguments: scryptCases) func rfc7914(_ c: ScryptCase) {
        let dk = unhex(c.dk)
        #expect(KDF.scrypt(passphrase: Array(c.p.utf8), salt: Array(c.s.utf8), n: c.n, r: c.r, p: c.par, count: dk.count) == dk)
    }
}
