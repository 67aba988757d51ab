import StoreyCore

/// One payload, as a device might send it: decoded, or refused with a reason, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = UnsafeRawBufferPointer(start: data, count: size)
    let decoder = PayloadDecoder(maximumPayloadBytes: 4096)
    let now: Int64 = 1_795_000_000_000
    var values: [DecodedValue] = []
    do {
        try decoder.decode(payload, now: now, into: &values)
    } catch {
        // A refusal names its reason; a refused payload yields nothing half-decoded to the caller that
        // checks the error. Whatever it appended stays the caller's to discard.
        return 0
    }
    for value in values where !value.value.isFinite {
        fatalError("decoded a value that is not finite: \(value)")
    }
    return 0
}
