import TOMLKit
/// Parsing of `[limits]`: `nofile = 1024`, `address_space = "2G"`, `core = "unlimited"`,
/// `nofile = { soft = 1024, hard = 4096 }`, `cpu = "10m"`.
extension Profile {
    static func parseLimits(_ section: Section?) throws(ProfileError) -> [LimitSpec] {
        var limits: [LimitSpec] = []
        if let section {
            try section.checkKeys(LimitResource.allCases.map(\.rawValue))
            for key in section.keys {
                guard let resource = LimitResource(rawValue: key) else { continue }
                limits.append(try parseLimit(section, resource))
            }
        }
        if !limits.contains(where: { $0.resource == .core }) {
            limits.append(LimitSpec(resource: .core, soft: .value(0), hard: .value(0)))
        }
        return limits
    }

    static func parseLimit(_ section: Section, _ resource: LimitResource) throws(ProfileError) -> LimitSpec {
        let key = resource.rawValue
        guard section.table[key]?.table != nil, let pair = try section.section(key) else {
            let value = try limitValue(section, key, resource)
            return LimitSpec(resource: resource, soft: value, hard: value)
        }
        try pair.checkKeys(["soft", "hard"])
        guard pair.contains("soft"), pair.contains("hard") else {
            throw section.error(.invalidValue, key, "give both soft and hard", hint: "e.g. \(key) = { soft = 1024, hard = 4096 }")
        }
        let soft = try limitValue(pair, "soft", resource)
        let hard = try limitValue(pair, "hard", resource)
        if soft > hard {
            throw section.error(.invalidValue, key, "the soft limit is above the hard limit")
        }
        return LimitSpec(resource: resource, soft: soft, hard: hard)
    }

    /// One limit value, read according to what the resource measures.
    static func limitValue(_ section: Section, _ key: String, _ resource: LimitResource) throws(ProfileError) -> LimitValue {
        let value = section.table[key]
        let result: LimitValue
        if let n = value?.int {
            guard n >= 0 else { throw section.error(.invalidValue, key, "must not be negative") }
            result = .value(UInt64(n))
        } else if let s = value?.string {
            if s == "unlimited" {
                result = .unlimited
            } else if resource.isSize {
                do throws(UnitError) { result = try Units.parseSize(s) } catch {
                    throw section.error(.invalidValue, key, error.message)
                }
            } else if resource == .cpu {
                guard let d = try section.duration(key), d.milliseconds % 1000 == 0 else {
                    throw section.error(.invalidValue, key, "the cpu limit is whole seconds")
                }
                result = .value(UInt64(d.milliseconds / 1000))
            } else {
                throw section.error(.invalidValue, key, "expected a number or \"unlimited\", found \"\(s)\"")
            }
        } else {
            let expected = resource.isSize ? "a size such as \"2G\", a number of bytes or \"unlimited\""
                : resource == .cpu ? "a duration, a number of seconds or \"unlimited\""
                : "a number or \"unlimited\""
            throw section.wrongType(key, expected: expected)
        }
        let cap: UInt64? = resource == .nice ? 40 : resource == .rtprio ? 99 : nil
        if let cap, case .value(let n) = result, n > cap {
            throw section.error(.invalidValue, key, "must be between 0 and \(cap)")
        }
        return result
    }
}

extension LimitValue: Comparable {
    /// Finite values are ordered by size; `unlimited` is above all of them.
    public static func < (a: LimitValue, b: LimitValue) -> Bool {
        switch (a, b) {
        case (.value(let x), .value(let y)): x < y
        case (.value, .unlimited): true
        case (.unlimited, _): false
        }
    }
}
