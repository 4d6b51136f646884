import Foundation
import TestSupport
import Testing

@testable import Parquet

/// The encodings the Parquet writer is built from, checked against the examples of the format's
/// own documents, and whole files read back by pyarrow.
@Suite("Parquet writer", .offPool)
struct ParquetWriterTests {
    // MARK: Thrift compact protocol

    @Test("Thrift compact fields use delta headers, zigzag varints and the long form past a gap of 15")
    func thriftCompactEncoding() {
        var t = ThriftCompactWriter()
        t.i32(1, 2)  // delta 1, type i32 (5); zigzag(2) = 4
        t.string(4, "ab")  // delta 3, type binary (8)
        t.i64(20, -1)  // gap 16: type byte, then zigzag(20) = 40; zigzag(-1) = 1
        t.bool(21, true)  // delta 1, type true (1), no payload
        t.beginList(22, .i32, count: 2)  // delta 1, type list (9); size 2 << 4 | i32
        t.elementI32(300)  // zigzag 600 = 0xD8 0x04
        t.elementI32(-2)  // zigzag 3
        t.beginStruct(23)
        t.i32(1, 0)
        t.endStruct()
        t.stop()
        #expect(
            t.bytes == [
                0x15, 0x04, 0x38, 0x02, 0x61, 0x62, 0x06, 0x28, 0x01, 0x11, 0x19, 0x25, 0xD8, 0x04, 0x03, 0x1C, 0x15,
                0x00, 0x00, 0x00,
            ])
    }

    @Test("a list of 15 or more elements has the long header")
    func thriftLongList() {
        var t = ThriftCompactWriter()
        t.beginList(1, .binary, count: 20)
        #expect(t.bytes == [0x19, 0xF8, 0x14])
    }

    // MARK: RLE / bit-packing hybrid

    @Test("the bit-packed example of Encodings.md: 0…7 at bit width 3")
    func bitPackedExample() {
        #expect(LevelEncoder.encode([0, 1, 2, 3, 4, 5, 6, 7], bitWidth: 3) == [0x03, 0x88, 0xC6, 0xFA])
    }

    @Test("eight or more equal levels become one RLE run; the last bit-packed group is padded")
    func rleRunsAndPadding() {
        #expect(LevelEncoder.encode([UInt16](repeating: 1, count: 100), bitWidth: 1) == [0xC8, 0x01, 0x01])
        #expect(LevelEncoder.encode([1, 0, 1], bitWidth: 1) == [0x03, 0x05])
        // 0, 1, then twenty 2s: one bit-packed group (0, 1 and six 2s: header + 2 bytes), then an
        // RLE run of the fourteen 2s left (header + 1 byte).
        let levels: [UInt16] = [0, 1] + [UInt16](repeating: 2, count: 20)
        let encoded = LevelEncoder.encode(levels, bitWidth: 2)
        #expect(encoded == [0x03, 0xA4, 0xAA, 0x1C, 0x02])
        #expect(Self.decode(encoded, bitWidth: 2, count: levels.count) == levels)
    }

    @Test("random levels decode to themselves", arguments: [1, 2, 3, 5])
    func hybridRoundTrip(bitWidth: Int) {
        var state: UInt64 = 42
        var levels: [UInt16] = []
        for _ in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let run = Int(state >> 60) + 1
            let value = UInt16((state >> 33) % UInt64(1 << bitWidth))
            levels += [UInt16](repeating: value, count: state >> 59 & 1 == 0 ? run : 1)
        }
        #expect(
            Self.decode(LevelEncoder.encode(levels, bitWidth: bitWidth), bitWidth: bitWidth, count: levels.count)
                == levels)
    }

    /// A reference decoder written from Encodings.md.
    static func decode(_ bytes: [UInt8], bitWidth: Int, count: Int) -> [UInt16] {
        var out: [UInt16] = []
        var i = 0
        func varint() -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            return v
        }
        while out.count < count && i < bytes.count {
            let header = varint()
            if header & 1 == 0 {
                var value = 0
                for b in 0..<((bitWidth + 7) / 8) {
                    value |= Int(bytes[i]) << (8 * b)
                    i += 1
                }
                out += [UInt16](repeating: UInt16(value), count: Int(header >> 1))
            } else {
                let n = Int(header >> 1) * 8
                var bit = 0
                for _ in 0..<n {
                    var v = 0
                    for k in 0..<bitWidth where bytes[i + (bit + k) / 8] >> UInt8((bit + k) % 8) & 1 == 1 {
                        v |= 1 << k
                    }
                    bit += bitWidth
                    out.append(UInt16(v))
                }
                i += Int(header >> 1) * bitWidth
            }
        }
        return Array(out.prefix(count))
    }

    // MARK: Whole files

    /// The schema of the read-back test: every primitive, a struct, a list of structs, a list of
    /// lists, required and optional fields.
    static let schema: [ParquetField] = [
        ParquetField("id", optional: false, .primitive(.string)),
        ParquetField("flag", .primitive(.boolean)),
        ParquetField("count", .primitive(.int64)),
        ParquetField("ratio", .primitive(.double)),
        ParquetField("when", .primitive(.timestampMicrosUTC)),
        ParquetField("blob", .primitive(.binary)),
        ParquetField(
            "box", .group([ParquetField("xmin", .primitive(.double)), ParquetField("xmax", .primitive(.double))])),
        ParquetField(
            "links",
            .list(
                element: ParquetField(
                    "element",
                    .group([
                        ParquetField("rel", .primitive(.string)),
                        ParquetField("roles", .list(element: ParquetField("element", .primitive(.string)))),
                    ])))),
        ParquetField(
            "matrix",
            .list(element: ParquetField("element", .list(element: ParquetField("element", .primitive(.int64)))))),
    ]

    /// Row `i` of the read-back test, and the JSON pyarrow must give for it.
    static func row(_ i: Int) -> ([ParquetValue], String) {
        let flag: ParquetValue = i % 3 == 0 ? .null : .boolean(i % 2 == 0)
        let count: ParquetValue = i % 5 == 0 ? .null : .int64(Int64(i) * 1_000_000_007)
        let ratio: ParquetValue = .double(Double(i) / 4)
        let when: ParquetValue = .int64(1_696_531_881_674_951 + Int64(i))
        let blob: ParquetValue = i % 4 == 0 ? .null : .bytes([UInt8(i % 256), 0, 255])
        let box: ParquetValue = i % 7 == 0 ? .null : .group([.double(-Double(i)), i % 2 == 0 ? .null : .double(1.5)])
        var links: [ParquetValue] = []
        var linksJSON: [String] = []
        for k in 0..<(i % 4) {
            let roles: ParquetValue = k == 1 ? .null : .list((0..<k).map { .string("r\($0)") })
            let rolesJSON = k == 1 ? "null" : "[" + (0..<k).map { "\"r\($0)\"" }.joined(separator: ",") + "]"
            links.append(k == 2 ? .null : .group([.string("rel-\(k)"), roles]))
            linksJSON.append(k == 2 ? "null" : "{\"rel\":\"rel-\(k)\",\"roles\":\(rolesJSON)}")
        }
        let matrix: ParquetValue =
            i % 6 == 1 ? .null : .list((0..<(i % 3)).map { r in .list((0..<r).map { .int64(Int64($0 + i)) }) })
        let matrixJSON =
            i % 6 == 1
            ? "null"
            : "["
                + (0..<(i % 3)).map { r in "[" + (0..<r).map { String($0 + i) }.joined(separator: ",") + "]" }.joined(
                    separator: ",") + "]"
        func json(_ v: ParquetValue) -> String {
            switch v {
            case .null: "null"
            case .boolean(let b): b ? "true" : "false"
            case .int64(let n): String(n)
            case .double(let d): String(d)
            case .bytes(let b): "\"" + b.map { String(format: "%02x", $0) }.joined() + "\""
            case .group(let g): "{\"xmin\":\(json(g[0])),\"xmax\":\(json(g[1]))}"
            default: ""
            }
        }
        let values: [ParquetValue] = [
            .string("row-\(i) ✓"), flag, count, ratio, when, blob, box, .list(links), matrix,
        ]
        let expected =
            "{\"id\":\"row-\(i) ✓\",\"flag\":\(json(flag)),\"count\":\(json(count)),\"ratio\":\(json(ratio)),\"when\":\(1_696_531_881_674_951 + i),\"blob\":\(json(blob)),\"box\":\(json(box)),\"links\":[\(linksJSON.joined(separator: ","))],\"matrix\":\(matrixJSON)}"
        return (values, expected)
    }

    static let python: String? = {
        var candidates: [String] = []
        if let tools = ProcessInfo.processInfo.environment["STAC_REPOSITORY_TOOLS"], !tools.isEmpty {
            candidates.append(tools + "/venv/bin/python")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build-tools/venv/bin/python").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static func runPython(_ script: String, _ arguments: [String]) -> (Int32, String, String) {
        guard let python else { return (-1, "", "no python") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script] + arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static let hasPyarrow: Bool = runPython("import pyarrow.parquet", []).0 == 0

    static let readBack = """
        import sys, json, pyarrow.parquet as pq
        f = pq.ParquetFile(sys.argv[1])
        print(json.dumps({"row_groups": f.metadata.num_row_groups, "rows": f.metadata.num_rows,
            "schema": str(f.schema_arrow), "codec": f.metadata.row_group(0).column(0).compression,
            "kv": {k.decode(): v.decode() for k, v in (f.metadata.metadata or {}).items()}}))
        t = f.read()
        for r in t.to_pylist():
            w = r["when"]
            r["when"] = None if w is None else int(w.timestamp()) * 1000000 + w.microsecond
            r["blob"] = None if r["blob"] is None else r["blob"].hex()
            print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
        """

    func writeFile(rows: Int, rowGroupSize: Int, compression: ParquetCompression, pageSize: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString).parquet")
        let handle = try #require(
            FileHandle(
                forWritingAtPath: {
                    FileManager.default.createFile(atPath: url.path, contents: nil); return url.path
                }()))
        let writer = try ParquetWriter(
            schema: Self.schema, compression: compression, rowGroupSize: rowGroupSize, pageSize: pageSize,
            output: { handle.write(Data($0)) })
        for i in 0..<rows { try writer.append(Self.row(i).0) }
        try writer.finish(keyValueMetadata: [("example", "{\"a\": 1}")])
        try handle.close()
        return url
    }

    @Test(
        "pyarrow reads back every value, null and nesting level, across row groups and pages",
        .enabled(if: hasPyarrow, "pyarrow is not installed (scripts/setup.sh --test-tools)"),
        arguments: [ParquetCompression.zstd(level: 3), .uncompressed])
    func pyarrowReadsBack(compression: ParquetCompression) throws {
        let rows = 2500
        let url = try writeFile(rows: rows, rowGroupSize: 1000, compression: compression, pageSize: 4096)
        defer { try? FileManager.default.removeItem(at: url) }
        let (status, out, err) = Self.runPython(Self.readBack, [url.path])
        try #require(status == 0, "pyarrow: \(err)")
        let lines = out.split(separator: "\n").map(String.init)
        let meta = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(meta["row_groups"] as? Int == 3)
        #expect(meta["rows"] as? Int == rows)
        #expect(meta["codec"] as? String == (compression == .uncompressed ? "UNCOMPRESSED" : "ZSTD"))
        #expect((meta["kv"] as? [String: String])?["example"] == "{\"a\": 1}")
        let schema = meta["schema"] as? String ?? ""
        #expect(schema.contains("when: timestamp[us, tz=UTC]"), "\(schema)")
        #expect(schema.contains("id: string not null"), "\(schema)")
        #expect(lines.count == rows + 1)
        for i in 0..<min(rows, lines.count - 1) {
            let expected = try JSONSerialization.jsonObject(with: Data(Self.row(i).1.utf8)) as? NSDictionary
            let actual = try JSONSerialization.jsonObject(with: Data(lines[i + 1].utf8)) as? NSDictionary
            #expect(actual == expected, "row \(i): \(lines[i + 1]) != \(Self.row(i).1)")
            if actual != expected { break }
        }
    }

    @Test("a value that does not fit its column is refused, and the writer then refuses more rows")
    func mismatchedValueIsRefused() throws {
        let writer = try ParquetWriter(
            schema: [ParquetField("n", optional: false, .primitive(.int64))], output: { _ in })
        #expect(throws: ParquetError.self) { try writer.append([.string("x")]) }
        #expect(throws: ParquetError.self) { try writer.append([.int64(1)]) }
        let required = try ParquetWriter(
            schema: [ParquetField("n", optional: false, .primitive(.int64))], output: { _ in })
        #expect(throws: ParquetError.self) { try required.append([.null]) }
    }

    @Test("the file starts and ends with PAR1, and the footer length points at the metadata")
    func fileFraming() throws {
        var bytes: [UInt8] = []
        let writer = try ParquetWriter(
            schema: [ParquetField("n", .primitive(.int64))], compression: .uncompressed, output: { bytes += $0 })
        try writer.append([.int64(7)])
        try writer.append([.null])
        try writer.finish()
        #expect(Array(bytes.prefix(4)) == Array("PAR1".utf8))
        #expect(Array(bytes.suffix(4)) == Array("PAR1".utf8))
        let n = bytes.count
        let footer = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        #expect(footer > 0 && footer < n - 12)
        #expect(writer.rowCount == 2 && writer.rowGroupCount == 1 && writer.bytesWritten == Int64(n))
    }
}
