// libFuzzer target: the JSON parser (Sources/STAC). Built by scripts/fuzz.sh with the STAC
// sources in one module, so no import is needed.

/// Every input either parses into a value whose canonical serialisation parses back to the same
/// value, or fails with a JSONParseError; anything else (a crash, a trap) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let value = try? JSONValue.parse(bytes: bytes) else { return 0 }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(bytes: text) else { fatalError("serialised output does not parse") }
    if again != value { fatalError("round trip changed the value") }
    return 0
}
