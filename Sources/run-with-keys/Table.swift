import Glibc

/// A plain-text table for people: columns padded to their widest cell plus two
/// spaces, the last column unpadded. A cell's width is its count of Characters
/// (grapheme clusters); for ASCII without CR (names, dates, most scopes) that is
/// its byte count, which is what is measured, and the rows are assembled as bytes.
///
/// Cells are written as bytes (`append`, then `endCell`; `endRow` after the last
/// cell of a row), so `list` can fill 6,000 of them without a String each.
struct Table {
    private var bytes: [UInt8] = []
    /// Per cell: where it ends in `bytes`, and its width.
    private var cellEnds: [Int] = []
    private var cellWidths: [Int] = []
    /// Per row: how many cells it has in all, so far.
    private var rowEnds: [Int] = []
    private var widths: [Int] = []
    private var cellStart = 0
    /// The column of the next cell.
    private var column = 0

    /// An empty table; `capacity` and `cells` are guesses of its size in bytes and cells.
    init(capacity: Int = 0, cells: Int = 0) {
        bytes.reserveCapacity(capacity)
        cellEnds.reserveCapacity(cells)
        cellWidths.reserveCapacity(cells)
    }

    mutating func append(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func append(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
    mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }
    /// Appends `n` in decimal.
    mutating func append(_ n: Int64) {
        if n < 0 { bytes.append(0x2d) }
        var m = n.magnitude, digits = 1
        while m >= 10 { m /= 10; digits += 1 }
        m = n.magnitude
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(0x30, count: digits))
        for k in stride(from: end - 1, through: end - digits, by: -1) { bytes[k] = UInt8(48 + m % 10); m /= 10 }
    }
    /// Lets `body` append to the bytes directly (`Timestamp.append(to:dateOnly:)`).
    mutating func withBytes(_ body: (inout [UInt8]) -> Void) { body(&bytes) }

    /// Ends the cell appended since the last `endCell`.
    mutating func endCell() {
        let ascii = bytes.withUnsafeBufferPointer { b in
            for i in cellStart..<b.count where b[i] >= 0x80 || b[i] == 0x0d { return false }
            return true
        }
        let width = ascii ? bytes.count - cellStart : String(decoding: bytes[cellStart...], as: UTF8.self).count
        if column == widths.count { widths.append(width) } else { widths[column] = max(widths[column], width) }
        cellEnds.append(bytes.count)
        cellWidths.append(width)
        cellStart = bytes.count
        column += 1
    }

    mutating func endRow() {
        rowEnds.append(cellEnds.count)
        column = 0
    }

    /// The table as text, one line per row (copied into place, one cell at a time).
    func render() -> [UInt8] {
        var total = bytes.count + rowEnds.count, cell = 0
        for rowEnd in rowEnds {
            let first = cell
            while cell < rowEnd - 1 { total += widths[cell - first] - cellWidths[cell] + 2; cell += 1 }
            cell = rowEnd
        }
        guard total > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: total) { out, count in
            bytes.withUnsafeBufferPointer { b in
                var cell = 0, start = 0
                for rowEnd in rowEnds {
                    let first = cell
                    while cell < rowEnd {
                        let end = cellEnds[cell]
                        if end > start { memcpy(out.baseAddress! + count, b.baseAddress! + start, end - start) }
                        count += end - start
                        if cell < rowEnd - 1 {
                            let pad = widths[cell - first] - cellWidths[cell] + 2
                            memset(out.baseAddress! + count, 0x20, pad)
                            count += pad
                        }
                        start = end
                        cell += 1
                    }
                    out[count] = 0x0a
                    count += 1
                }
            }
        }
    }

    /// A table of String cells.
    static func render(_ rows: [[String]]) -> String {
        var t = Table()
        for r in rows {
            for c in r { t.append(c); t.endCell() }
            t.endRow()
        }
        return String(decoding: t.render(), as: UTF8.self)
    }
}
