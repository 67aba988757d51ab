import Foundation
import StoreyCore

/// Command-line and environment overrides, so one configuration file serves several hosts and tests.
public struct ConfigurationOverrides: Sendable {
    public var mqttURL: String?
    public var databasePath: String?
    public var httpAddress: String?

    public init(mqttURL: String? = nil, databasePath: String? = nil, httpAddress: String? = nil) {
        self.mqttURL = mqttURL
        self.databasePath = databasePath
        self.httpAddress = httpAddress
    }

    /// Command-line values first, then `STOREY_MQTT_URL`, `STOREY_DATABASE`, `STOREY_HTTP_ADDRESS`.
    public static func from(
        mqttURL: String?, databasePath: String?, httpAddress: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ConfigurationOverrides {
        ConfigurationOverrides(
            mqttURL: mqttURL ?? environment["STOREY_MQTT_URL"],
            databasePath: databasePath ?? environment["STOREY_DATABASE"],
            httpAddress: httpAddress ?? environment["STOREY_HTTP_ADDRESS"])
    }
}

/// Reads and checks a configuration file (and the topology files it names).
public enum ConfigurationLoader {
    /// Loads `file`; throws `ConfigErrors` listing every problem found, each with file, line and field.
    public static func load(file: String, overrides: ConfigurationOverrides = ConfigurationOverrides()) throws(ConfigErrors) -> Configuration {
        let problems = ConfigNode.Problems()
        let configuration = read(file: file, overrides: overrides, problems: problems)
        if !problems.errors.isEmpty || configuration == nil {
            throw ConfigErrors(problems.errors)
        }
        return configuration!
    }

    private static func read(file: String, overrides: ConfigurationOverrides, problems: ConfigNode.Problems) -> Configuration? {
        guard let root = ConfigNode.load(file: file, problems: problems),
            let top = root.mapping(allowed: ["mqtt", "database", "storage", "http", "intake", "retention", "topology", "alerting", "rules", "delivery"])
        else { return nil }
        let directory = (file as NSString).deletingLastPathComponent

        let mqtt = top.required("mqtt").flatMap { readMQTT($0, override: overrides.mqttURL, problems: problems) }
        let database = overrides.databasePath ?? top["database"]?.string ?? "storey.db"
        var http = HostPort(host: "127.0.0.1", port: 8080)
        if let text = overrides.httpAddress {
            if let parsed = HostPort(text) { http = parsed } else {
                problems.errors.append(ConfigError(file: "--http-address/STOREY_HTTP_ADDRESS", line: 0, field: "http.address", message: "\"\(text)\" is not HOST:PORT"))
            }
        } else if let node = top["http"], let section = node.mapping(allowed: ["address"] + HTTPAccessConfiguration.keys), let address = section["address"] {
            if let text = address.string {
                if let parsed = HostPort(text) { http = parsed } else { address.fail("\"\(text)\" is not HOST:PORT, e.g. 127.0.0.1:8080") }
            }
        }
        var intake = IntakeConfiguration()
        if let node = top["intake"], let section = node.mapping(allowed: ["max_payload_bytes", "future_tolerance", "max_buffered_messages"]) {
            if let value = section["max_payload_bytes"]?.integer(minimum: 16, maximum: 16 << 20) { intake.maxPayloadBytes = value }
            if let value = section["future_tolerance"]?.duration { intake.futureTolerance = value }
            if let value = section["max_buffered_messages"]?.integer(minimum: 100) { intake.maxBufferedMessages = value }
        }
        var retentionDays = 7.0
        if let node = top["retention"], let section = node.mapping(allowed: ["raw_readings"]), let raw = section["raw_readings"]?.duration {
            retentionDays = raw / 86400
        }

        // The topology is inline, or in a file of its own (relative to this one).
        var topologyNode = top.required("topology")
        if let node = topologyNode, node.node.isScalar, let path = node.string {
            let resolved = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
            topologyNode = ConfigNode.load(file: resolved, problems: problems)
        }
        var reader = TopologyReader(problems: problems)
        let topologyResult = topologyNode.flatMap { reader.read($0) }

        let alerting = readAlerting(top["alerting"])
        let rules = topologyResult.map { readRules(top["rules"], topology: $0.topology) } ?? []

        let httpAccess = readHTTPAccess(top["http"])
        let delivery = top["delivery"].flatMap { DeliveryReader(problems: problems).read($0) }
        let storage = readStorage(top["storage"], topology: topologyResult?.topology)
        guard let mqtt, let topologyResult, problems.errors.isEmpty else { return nil }
        return Configuration(
            file: file, mqtt: mqtt, databasePath: database, http: http, intake: intake, rawRetentionDays: retentionDays,
            topology: topologyResult.topology, topicPrefix: topologyResult.topicPrefix, workingTimes: topologyResult.workingTimes,
            alerting: alerting, rules: rules,
            httpAccess: httpAccess, delivery: delivery, storage: storage)
    }

    private static func readMQTT(_ node: ConfigNode, override: String?, problems: ConfigNode.Problems) -> MQTTConfiguration? {
        guard let section = node.mapping(allowed: [
            "url", "client_id", "version", "qos", "keep_alive", "session_expiry", "username", "password_file",
            "password_credential", "ca_file", "cert_file", "key_file", "receive_maximum",
        ]) else { return nil }
        var url: BrokerURL?
        if let override {
            url = BrokerURL(override)
            if url == nil {
                problems.errors.append(ConfigError(file: "--mqtt-url/STOREY_MQTT_URL", line: 0, field: "mqtt.url", message: "\"\(override)\" is not mqtt://HOST:PORT or mqtts://HOST:PORT"))
            }
        } else if let node = section.required("url"), let text = node.string {
            url = BrokerURL(text)
            if url == nil { node.fail("\"\(text)\" is not mqtt://HOST:PORT or mqtts://HOST:PORT") }
        }
        let clientID = section["client_id"]?.identifier ?? "storeyd"
        guard let url else { return nil }
        var mqtt = MQTTConfiguration(url: url, clientID: clientID)
        if let version = section["version"]?.oneOf(MQTTVersion.self) { mqtt.version = version }
        if let qos = section["qos"]?.integer(minimum: 0, maximum: 2) { mqtt.qos = qos }
        if let value = section["keep_alive"]?.integer(minimum: 5, maximum: 65535) { mqtt.keepAlive = value }
        if let value = section["session_expiry"]?.duration { mqtt.sessionExpiry = Int(value) }
        if let value = section["receive_maximum"]?.integer(minimum: 1, maximum: 65535) { mqtt.receiveMaximum = value }
        mqtt.username = section["username"]?.string
        if let file = section["password_file"]?.string { mqtt.password = .file(file) }
        if let name = section["password_credential"]?.string {
            if mqtt.password != nil { section["password_credential"]!.fail("give password_file or password_credential, not both") }
            mqtt.password = .credential(name)
        }
        mqtt.caFile = section["ca_file"]?.string
        mqtt.certFile = section["cert_file"]?.string
        mqtt.keyFile = section["key_file"]?.string
        if (mqtt.certFile == nil) != (mqtt.keyFile == nil) {
            node.fail("cert_file and key_file go together (mutual TLS needs both)")
        }
        if url.tls && mqtt.caFile == nil {
            node.fail("an mqtts:// broker needs ca_file to verify it")
        }
        return mqtt
    }
}

/// Reads the `topology` section: buildings → floors → spaces → points, and tenants with leases.
struct TopologyReader {
    let problems: ConfigNode.Problems

    private var buildings: [Building] = []
    private var floors: [Floor] = []
    private var spaces: [Space] = []
    private var points: [Point] = []
    private var tenants: [Tenant] = []
    private var spaceByID: [String: Int] = [:]
    /// Each space's leases so far, with their tenant: one space's overlaps are checked without reading
    /// every tenant's (100,000 points made that quadratic: seconds of start-up).
    private var leasesBySpace: [Int: [(tenant: String, lease: Lease)]] = [:]
    private var idLines: [String: (kind: String, line: Int, file: String)] = [:]
    private var topicPrefix = "storey"
    /// Seconds between a point's readings, unless the point says otherwise.
    private var defaultInterval = 60.0
    /// Monday to Friday, 08:00–18:00, unless the topology says otherwise.
    private var defaultHours = WorkingHours(shifts: [Shift(start: 8 * 60, end: 18 * 60)])
    private var tenantHours: [Int: WorkingHours] = [:]
    private var calendars: [Int: HolidayCalendar] = [:]

    init(problems: ConfigNode.Problems) { self.problems = problems }

    mutating func read(_ node: ConfigNode) -> (topology: Topology, topicPrefix: String, workingTimes: WorkingTimeTable)? {
        guard let section = node.mapping(allowed: ["topic_prefix", "expected_interval", "working_hours", "buildings", "tenants"]) else { return nil }
        if let prefix = section["topic_prefix"]?.string { topicPrefix = prefix }
        if let interval = section["expected_interval"]?.duration { defaultInterval = max(interval, 1) }
        if let hours = section["working_hours"].flatMap(Self.workingHours) { defaultHours = hours }
        for building in section.required("buildings")?.sequence() ?? [] { readBuilding(building) }
        for tenant in section["tenants"]?.sequence() ?? [] { readTenant(tenant) }
        let topology = Topology(buildings: buildings, floors: floors, spaces: spaces, tenants: tenants, points: points)
        checkTopics(topology)
        let workingTimes = WorkingTimeTable(defaultHours: defaultHours, tenantHours: tenantHours, calendars: calendars)
        return (topology, topicPrefix, workingTimes)
    }

    /// Ids are unique within their kind across the whole estate: figures and topics are keyed by them.
    private mutating func claim(_ id: String, kind: String, at node: ConfigNode) -> Bool {
        let key = "\(kind):\(id)"
        if let first = idLines[key] {
            node.fail("\(kind) id \"\(id)\" is already used at \(first.file):\(first.line)")
            return false
        }
        idLines[key] = (kind, node.line, node.file)
        return true
    }

    private mutating func readBuilding(_ node: ConfigNode) {
        guard let section = node.mapping(allowed: ["id", "name", "time_zone", "land_area", "holidays", "make_up_days", "holiday_calendar", "floors"]),
            let idNode = section.required("id"), let id = idNode.identifier, claim(id, kind: "building", at: idNode)
        else { return }
        var timeZone = TimeZone(identifier: "UTC")!
        if let zoneNode = section.required("time_zone"), let name = zoneNode.string {
            if let zone = TimeZone(identifier: name) { timeZone = zone } else {
                zoneNode.fail("\"\(name)\" is not a time zone of the tz database, e.g. Asia/Shanghai")
            }
        }
        let landArea = section.required("land_area")?.number(positive: true, unit: "m²") ?? 1
        let name = section["name"]?.string ?? id
        let buildingIndex = buildings.count
        buildings.append(Building(id: id, name: name, timeZone: timeZone, landArea: landArea))
        if let calendar = Self.holidayCalendar(section) { calendars[buildingIndex] = calendar }
        var levels = Set<Int>()
        for floor in section.required("floors")?.sequence() ?? [] {
            readFloor(floor, buildingIndex: buildingIndex, levels: &levels)
        }
    }

    private mutating func readFloor(_ node: ConfigNode, buildingIndex: Int, levels: inout Set<Int>) {
        guard let section = node.mapping(allowed: ["level", "area", "spaces", "points"]),
            let levelNode = section.required("level"), let level = levelNode.integer(minimum: -10, maximum: 300)
        else { return }
        guard levels.insert(level).inserted else {
            levelNode.fail("level \(level) appears twice in building \(buildings[buildingIndex].id)")
            return
        }
        let area = section.required("area")?.number(positive: true, unit: "m²") ?? 1
        let building = buildings[buildingIndex]
        let floorIndex = floors.count
        floors.append(Floor(id: "\(building.id)/\(level)", buildingIndex: buildingIndex, level: level, grossArea: area))
        var spacesArea = 0.0
        for spaceNode in section["spaces"]?.sequence() ?? [] {
            guard let space = spaceNode.mapping(allowed: ["id", "area", "capacity", "points"]),
                let idNode = space.required("id"), let id = idNode.identifier, claim(id, kind: "space", at: idNode)
            else { continue }
            let spaceArea = space.required("area")?.number(positive: true, unit: "m²") ?? 1
            let capacity = space["capacity"]?.integer(minimum: 0) ?? 0
            spacesArea += spaceArea
            let spaceIndex = spaces.count
            spaces.append(Space(id: id, floorIndex: floorIndex, area: spaceArea, capacity: capacity))
            spaceByID[id] = spaceIndex
            for point in space["points"]?.sequence() ?? [] {
                readPoint(point, place: .space(spaceIndex), floorIndex: floorIndex, defaultTopicPart: id)
            }
        }
        if spacesArea > area * 1.0001, let spacesNode = section["spaces"] {
            spacesNode.fail("the spaces add up to \(spacesArea) m², more than the floor's \(area) m²")
        }
        for point in section["points"]?.sequence() ?? [] {
            readPoint(point, place: .floor(floorIndex), floorIndex: floorIndex, defaultTopicPart: "-")
        }
    }

    private mutating func readPoint(_ node: ConfigNode, place: PointPlace, floorIndex: Int, defaultTopicPart: String) {
        guard let section = node.mapping(allowed: ["id", "quantity", "unit", "topic", "rollover", "maximum", "expected_interval"]),
            let idNode = section.required("id"), let id = idNode.identifier, claim(id, kind: "point", at: idNode),
            let quantity = section.required("quantity")?.oneOf(Quantity.self)
        else { return }
        var unit = quantity.defaultUnit
        if let unitNode = section["unit"], let text = unitNode.string {
            if quantity.acceptedUnits.contains(text) { unit = text } else {
                unitNode.fail("\"\(text)\" is not a unit for \(quantity.rawValue); accepted: \(quantity.acceptedUnits.sorted().joined(separator: ", "))")
            }
        }
        let floor = floors[floorIndex]
        let building = buildings[floor.buildingIndex]
        let topic = section["topic"]?.string ?? "\(topicPrefix)/\(building.id)/\(floor.level)/\(defaultTopicPart)/\(id)"
        if topic.contains("+") || topic.contains("#") {
            section["topic"]?.fail("a point's topic is one topic, without wildcards + or #")
        }
        var rollover: Double?
        if let node = section["rollover"] {
            if quantity.isCounter { rollover = node.number(positive: true) } else { node.fail("only counters roll over; \(quantity.rawValue) is not a counter") }
        }
        let capacity = if case .space(let index) = place { spaces[index].capacity } else { 0 }
        let maximum = section["maximum"]?.number(positive: true) ?? Self.defaultMaximum(quantity, capacity: capacity)
        let interval = section["expected_interval"]?.duration ?? defaultInterval
        points.append(Point(
            id: id, quantity: quantity, unit: unit, place: place, floorIndex: floorIndex, buildingIndex: floor.buildingIndex,
            topic: topic, rollover: rollover, maximum: maximum, expectedInterval: Int64(max(interval, 1) * 1000)))
    }

    /// Believable limits when a point does not give its own: gauges by value, counters by increase per hour.
    static func defaultMaximum(_ quantity: Quantity, capacity: Int) -> Double {
        switch quantity {
        case .power: 20_000               // kW: a whole industrial floor at full load stays far below
        case .energy: 20_000              // kWh per hour
        case .water: 1_000                // m³ per hour
        case .gas: 10_000                 // m³ per hour
        case .occupancy: Double(max(capacity * 5, 1_000))
        case .presence: 1
        case .output: 1e12
        }
    }

    private mutating func readTenant(_ node: ConfigNode) {
        guard let section = node.mapping(allowed: ["id", "name", "labels", "working_hours", "targets", "leases"]),
            let idNode = section.required("id"), let id = idNode.identifier, claim(id, kind: "tenant", at: idNode)
        else { return }
        var labels: [String: String] = [:]
        if let labelNode = section["labels"], let mapping = labelNode.node.pairs {
            for (key, value) in mapping {
                if let key = key.string, let value = value.string { labels[key] = value }
            }
        }
        var leases: [Lease] = []
        for leaseNode in section.required("leases")?.sequence() ?? [] {
            guard let lease = leaseNode.mapping(allowed: ["space", "start", "end"]),
                let spaceNode = lease.required("space"), let spaceID = spaceNode.string,
                let start = lease.required("start")?.date
            else { continue }
            guard let spaceIndex = spaceByID[spaceID] else {
                spaceNode.fail("no space \"\(spaceID)\" is defined under topology.buildings")
                continue
            }
            let end = lease["end"]?.date
            if let end, end < start { lease["end"]!.fail("the lease ends (\(end)) before it starts (\(start))") }
            // Two tenants cannot lease one space on the same day.
            for (other, existing) in leasesBySpace[spaceIndex] ?? [] where other != id && overlaps(existing, start, end) {
                spaceNode.fail("space \"\(spaceID)\" is already leased to \"\(other)\" from \(existing.start) to \(existing.end.map(\.description) ?? "open end")")
            }
            leases.append(Lease(spaceIndex: spaceIndex, start: start, end: end))
        }
        if let hours = section["working_hours"].flatMap(Self.workingHours) { tenantHours[tenants.count] = hours }
        var targets = TenantTargets()
        if let node = section["targets"], let targetSection = node.mapping(allowed: ["output_per_m2_month", "energy_per_m2_month"]) {
            targets.outputPerSquareMetrePerMonth = targetSection["output_per_m2_month"]?.number(positive: true, unit: "output per m² a month")
            targets.energyPerSquareMetrePerMonth = targetSection["energy_per_m2_month"]?.number(positive: true, unit: "kWh per m² a month")
        }
        tenants.append(Tenant(id: id, name: section["name"]?.string ?? id, labels: labels, leases: leases, targets: targets))
        for lease in leases { leasesBySpace[lease.spaceIndex, default: []].append((id, lease)) }
    }

    /// `{mon-fri: ["08:00-12:00", "13:00-17:30"], sat: ["08:00-12:00"]}`; a shift whose end is not after
    /// its start runs past midnight ("22:00-06:00").
    static func workingHours(_ node: ConfigNode) -> WorkingHours? {
        guard let mapping = node.node.pairs else {
            node.fail("expected days mapped to shifts, e.g. mon-fri: [\"08:00-12:00\", \"13:00-17:30\"]")
            return nil
        }
        var days: [Weekday: [Shift]] = [:]
        var valid = true
        for (key, value) in mapping {
            let keyNode = ConfigNode(node: key, file: node.file, path: "\(node.path).\(key.string ?? "?")", problems: node.problems)
            guard let dayText = key.string, let weekdays = weekdayRange(dayText) else {
                keyNode.fail("\"\(key.string ?? "?")\" is not a day or range of days; write e.g. monday, sat or mon-fri")
                valid = false
                continue
            }
            let list = ConfigNode(node: value, file: node.file, path: keyNode.path, problems: node.problems)
            var shifts: [Shift] = []
            for shiftNode in list.sequence() {
                guard let text = shiftNode.string else { valid = false; continue }
                guard let shift = Shift(text) else {
                    shiftNode.fail("\"\(text)\" is not a shift; write HH:MM-HH:MM, e.g. 08:00-12:00 or 22:00-06:00")
                    valid = false
                    continue
                }
                shifts.append(shift)
            }
            for weekday in weekdays { days[weekday, default: []] += shifts }
        }
        return valid ? WorkingHours(days) : nil
    }

    /// `monday`, `mon`, `mo`, or a range `mon-fri`.
    static func weekdayRange(_ text: String) -> [Weekday]? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let first = Weekday(name: parts[0].lowercased()) else { return nil }
        guard parts.count == 2 else { return [first] }
        guard let last = Weekday(name: parts[1].lowercased()), last >= first else { return nil }
        return Weekday.allCases.filter { $0 >= first && $0 <= last }
    }

    /// A building's public holidays and make-up working days (调休), listed and/or from an iCalendar file.
    static func holidayCalendar(_ section: ConfigNode.Mapping) -> HolidayCalendar? {
        guard section["holidays"] != nil || section["make_up_days"] != nil || section["holiday_calendar"] != nil else { return nil }
        var calendar = HolidayCalendar()
        if let node = section["holiday_calendar"], let path = node.string {
            let directory = (node.file as NSString).deletingLastPathComponent
            let file = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                do {
                    calendar.merge(try HolidayCalendar(iCalendar: text))
                } catch {
                    node.problems.errors.append(ConfigError(file: file, line: error.line, field: node.path, message: error.message))
                }
            } catch {
                node.fail("cannot read the iCalendar file \(file): \(error.localizedDescription)")
            }
        }
        for dateNode in section["holidays"]?.sequence() ?? [] {
            if let date = dateNode.date { calendar.addHoliday(date) }
        }
        for entry in section["make_up_days"]?.sequence() ?? [] {
            guard let day = entry.mapping(allowed: ["date", "works_as"]), let date = day.required("date")?.date else { continue }
            var weekday = Weekday.monday
            if let node = day["works_as"], let text = node.string {
                if let parsed = Weekday(name: text.lowercased()) { weekday = parsed } else {
                    node.fail("\"\(text)\" is not a day of the week")
                }
            }
            calendar.addMakeUpDay(date, workedAs: weekday)
        }
        return calendar
    }

    private func overlaps(_ lease: Lease, _ start: LocalDate, _ end: LocalDate?) -> Bool {
        let startsBeforeOtherEnds = lease.end.map { start <= $0 } ?? true
        let endsAfterOtherStarts = end.map { $0 >= lease.start } ?? true
        return startsBeforeOtherEnds && endsAfterOtherStarts
    }

    private func checkTopics(_ topology: Topology) {
        guard topology.pointByTopic.count != topology.points.count else { return }
        var seen: [String: String] = [:]
        for point in topology.points {
            if let other = seen[point.topic] {
                problems.errors.append(ConfigError(file: "", line: 0, field: "topology.points", message: "points \"\(other)\" and \"\(point.id)\" share the topic \(point.topic)"))
            }
            seen[point.topic] = point.id
        }
    }
}
