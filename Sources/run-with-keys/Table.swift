/// A plain-text table for people: columns padded to their widest cell plus two
/// spaces, the last column unpadded. A cell's width is its count of Characters
/// (grapheme clusters); for ASCII without CR (names, dates, most scopes) that is
/// its byte count, which is what is measured, and the rows are assembled as bytes.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        func width(_ c: String) -> Int {
            var ascii = true
            for b in c.utf8 where b >= 0x80 || b == 0x0d { ascii = false; break }
            return ascii ? c.utf8.count : c.count
        }
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        var cellWidths: [[Int]] = []
        cellWidths.reserveCapacity(rows.count)
        var total = 0
        for r in rows {
            let w = r.map(width)
            for (i, n) in w.enumerated() { widths[i] = max(widths[i], n) }
            cellWidths.append(w)
            total += r.reduce(0) { $0 + $1.utf8.count }
        }
        var out: [UInt8] = []
        out.reserveCapacity(total + rows.count * (widths.reduce(0, +) + 2 * widths.count + 1))
        for (r, w) in zip(rows, cellWidths) {
            for (i, c) in r.enumerated() {
                out.append(contentsOf: c.utf8)
                if i < r.count - 1 { out.append(contentsOf: repeatElement(0x20, count: widths[i] - w[i] + 2)) }
            }
            out.append(0x0a)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
