import TOMLKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `extends = "base"`: a profile on top of another.
///
/// The chain is read first (each file with the same trust checks as any profile),
/// then merged at the TOML level, base first: tables merge key by key (recursively),
/// while arrays, scalars and each `[keys]` entry replace what the base had. Validation
/// runs on the merged table, so every check applies to the result, and errors name
/// the file each key came from. `extends` is a profile name (looked up like any
/// profile name) or a path (relative: against the extending file's directory).
/// A cycle is refused, naming both files.
enum Inheritance {
    /// One file of the chain.
    struct Layer {
        let file: String
        let table: TOMLTable
        let positions: KeyPositions
    }

    /// How long a chain may be.
    static let maxDepth = 8

    /// The merged table and the layers, the profile first, the base last.
    static func resolve(_ first: Layer, home: String) throws(ProfileError) -> (TOMLTable, [Layer]) {
        // Most profiles extend nothing: their table is the result as it is.
        guard first.table.contains(key: "extends") else { return (first.table, [first]) }
        var layers = [first]
        var identities = [fileIdentity(first.file)]
        while let value = layers.last!.table["extends"] {
            let current = layers.last!
            let section = Section(table: current.table, path: [],
                                  context: ParseContext(file: current.file, positions: current.positions))
            guard let target = value.string, !target.isEmpty else {
                throw section.wrongType("extends", expected: "a profile name or path")
            }
            let path = try locate(target, from: current.file, home: home, section: section)
            let id = fileIdentity(path)
            if let i = identities.firstIndex(where: { $0 != nil && $0 == id }) {
                let chain = (layers[i...].map(\.file) + [path]).joined(separator: " extends ")
                throw section.error(.invalidValue, "extends", "\"\(target)\" makes a cycle: \(chain)",
                                    hint: "a base profile must not extend, directly or through others, the profile built on it")
            }
            guard layers.count < maxDepth else {
                throw section.error(.invalidValue, "extends", "more than \(maxDepth) levels of extends")
            }
            let text: String
            do { text = try Profile.readText(path) } catch {
                var e = error
                e.message = "\(current.file): extends \"\(target)\": " + e.message
                throw e
            }
            layers.append(try Profile.parseLayer(toml: text, path: path))
            identities.append(id)
        }
        var merged = TOMLTable()
        for layer in layers.reversed() { merged = merge(merged, layer.table, path: []) }
        return (merged, layers)
    }

    /// A name resolves like any profile name; a path is relative to the extending file's directory.
    static func locate(_ target: String, from file: String, home: String, section: Section) throws(ProfileError) -> String {
        if target.contains("/") || target.hasSuffix(".toml") {
            let expanded = Profile.expandHome(target)
            return expanded.hasPrefix("/") ? expanded : Profile.resolve(expanded, against: Profile.absoluteDirectory(of: file))
        }
        do { return try ProfileLocator.resolve(target, home: home) } catch {
            throw section.error(.invalidValue, "extends", error.message, hint: error.hints.first)
        }
    }

    /// Device and inode, to see the same file under two names.
    static func fileIdentity(_ path: String) -> [UInt64]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    /// `over` on top of `base`: tables merge, everything else (and each [keys] entry) replaces.
    static func merge(_ base: TOMLTable, _ over: TOMLTable, path: [String]) -> TOMLTable {
        let result = TOMLTable()
        for key in base.keys where !(path.isEmpty && key == "extends") { result[key] = base[key] }
        for key in over.keys where !(path.isEmpty && key == "extends") {
            if path != ["keys"], let b = base[key]?.table, let o = over[key]?.table {
                result[key] = merge(b, o, path: path + [key])
            } else {
                result[key] = over[key]
            }
        }
        return result
    }
}
