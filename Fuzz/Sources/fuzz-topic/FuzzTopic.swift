import Foundation
import StoreyCore

/// A small tower whose points use the default topic convention, one of them a counter that rolls over.
let topology: Topology = {
    let buildings = [Building(id: "t", name: "T", timeZone: TimeZone(identifier: "Asia/Shanghai")!, landArea: 6666.7)]
    let floors = [Floor(id: "t/1", buildingIndex: 0, level: 1, grossArea: 1000)]
    let spaces = [Space(id: "s1", floorIndex: 0, area: 500, capacity: 30)]
    func point(_ id: String, _ quantity: Quantity, rollover: Double? = nil) -> Point {
        Point(
            id: id, quantity: quantity, unit: quantity.defaultUnit, place: .space(0), floorIndex: 0, buildingIndex: 0,
            topic: "storey/t/1/s1/\(id)", rollover: rollover, maximum: 1000)
    }
    let points = [
        point("kw", .power), point("kwh", .energy, rollover: 99_999), point("people", .occupancy),
        point("here", .presence), point("m3", .water), point("units", .output),
    ]
    return Topology(buildings: buildings, floors: floors, spaces: spaces, tenants: [], points: points)
}()

/// The input is `TOPIC \0 PAYLOAD` (no NUL: all topic). The topic is read as the intake reads it, any
/// bytes repaired to UTF-8; the binder must account for every value with a reading or a refusal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTopic(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let split = input.firstIndex(of: 0) ?? size
    let topic = String(decoding: UnsafeBufferPointer(rebasing: input[0..<split]), as: UTF8.self)
    let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[min(split + 1, size)...])
    let binder = ReadingBinder(decoder: PayloadDecoder(maximumPayloadBytes: 4096))
    let now: Int64 = 1_795_000_000_000
    var scratch: [DecodedValue] = []
    var readings: [Reading] = []
    var rejections: [RejectionReason] = []
    var receipts = ReceiptTimes()
    binder.bind(
        topic: topic, payload: payload, now: now, topology: topology,
        scratch: &scratch, readings: &readings, rejections: &rejections, receipts: &receipts)
    if readings.isEmpty && rejections.isEmpty && !scratch.isEmpty {
        fatalError("\(scratch.count) values decoded, but neither a reading nor a refusal")
    }
    for reading in readings {
        guard topology.points.indices.contains(reading.point) else { fatalError("reading for point index \(reading.point)") }
        guard reading.value.isFinite else { fatalError("reading value \(reading.value) is not finite") }
        guard reading.time <= now + binder.futureTolerance else { fatalError("reading time \(reading.time) is in the future") }
    }
    if topology.pointByTopic[topic] == nil && scratch.allSatisfy({ $0.name == nil }) && !readings.isEmpty {
        fatalError("an unknown topic \(topic.debugDescription) gave readings without naming their points")
    }
    return 0
}
