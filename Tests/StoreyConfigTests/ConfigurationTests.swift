import Foundation
import StoreyConfig
import StoreyCore
import Testing

/// Writes configuration files into a fresh directory for one test.
struct ConfigFolder {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("storey-config-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) -> String {
        let file = "\(path)/\(name)"
        try! text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func errors(_ main: String) -> [ConfigError] {
        do {
            _ = try ConfigurationLoader.load(file: main)
            return []
        } catch {
            return error.errors
        }
    }
}

let validTopology = """
    buildings:
      - id: tower
        time_zone: Asia/Shanghai
        land_area: 6666.7
        floors:
          - level: 1
            area: 1000
            spaces:
              - id: s1
                area: 400
                capacity: 20
                points:
                  - { id: s1-kw, quantity: power }
                  - { id: s1-kwh, quantity: energy, topic: meters/s1/kwh }
            points:
              - { id: f1-water, quantity: water }
    tenants:
      - id: alpha
        leases:
          - { space: s1, start: 2026-01-01 }
    """

@Suite struct ConfigurationTests {
    @Test func exampleConfigurationInTheRepositoryIsValid() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Deploy/config/storey.yaml").standardized.path
        let configuration = try ConfigurationLoader.load(file: file)
        #expect(configuration.topology.points.count > 10)
        #expect(configuration.topology.tenants.count >= 3)
    }

    @Test func topologyInItsOwnFileWithDefaultAndCustomTopics() throws {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", validTopology)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ndatabase: x.db\ntopology: topology.yaml\n")
        let configuration = try ConfigurationLoader.load(file: main)
        let topics = configuration.topology.points.map(\.topic)
        #expect(topics == ["storey/tower/1/s1/s1-kw", "meters/s1/kwh", "storey/tower/1/-/f1-water"])
        #expect(configuration.subscriptions == ["storey/#", "meters/s1/kwh"])
        #expect(configuration.topology.leasedArea(ofTenant: 0, on: LocalDate("2026-02-01")!) == 400)
    }

    @Test func errorsNameFileLineAndField() {
        let folder = ConfigFolder()
        let broken = validTopology
            .replacingOccurrences(of: "area: 400", with: "area: big")
            .replacingOccurrences(of: "quantity: power", with: "quantity: voltage")
            .replacingOccurrences(of: "space: s1,", with: "space: s9,")
        let topologyFile = folder.write("topology.yaml", broken)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\n  qos: 3\ntopology: topology.yaml\n")
        let errors = folder.errors(main)
        #expect(errors.contains { $0.file == main && $0.line == 3 && $0.field == "mqtt.qos" && $0.message.contains("at most 2") })
        #expect(errors.contains { $0.file == topologyFile && $0.line == 10 && $0.field == "buildings[0].floors[0].spaces[0].area" })
        #expect(errors.contains { $0.file == topologyFile && $0.line == 13 && $0.message.contains("\"voltage\" is not one of") })
        #expect(errors.contains { $0.line == 20 && $0.message.contains("no space \"s9\"") })
        #expect(errors.first { $0.field.hasSuffix("area") }?.description.hasPrefix("\(topologyFile):10: ") == true)
    }

    @Test func misspeltKeyIsAnErrorNotIgnored() {
        let folder = ConfigFolder()
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\n  client_idd: x\ntopology:\n" + validTopology.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        let errors = folder.errors(main)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 3)
        #expect(errors.first?.message.contains("unknown key \"client_idd\"") == true)
    }

    @Test func overlappingLeasesAndDuplicateIdsAreRefused() {
        let folder = ConfigFolder()
        let topology = validTopology + """

              - id: beta
                leases:
                  - { space: s1, start: 2026-06-01, end: 2026-07-01 }
              - id: alpha
                leases: []
            """
        _ = folder.write("topology.yaml", topology)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n")
        let messages = folder.errors(main).map(\.message)
        #expect(messages.contains { $0.contains("already leased to \"alpha\"") })
        #expect(messages.contains { $0.contains("tenant id \"alpha\" is already used") })
    }

    @Test func invalidYAMLSaysWhere() {
        let folder = ConfigFolder()
        let main = folder.write("storey.yaml", "mqtt:\n  url: [unclosed\n")
        let errors = folder.errors(main)
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("not valid YAML") == true)
        #expect((errors.first?.line ?? 0) >= 2)
    }

    @Test func yamlAnchorsAliasesAndStylesReadAsYAMLSays() throws {
        let folder = ConfigFolder()
        let topology = validTopology
            .replacingOccurrences(of: "capacity: 20", with: "capacity: &seats 20")
            .replacingOccurrences(of: "area: 1000", with: "area: 1_000.5")
            .replacingOccurrences(of: "  - id: alpha\n", with: "  - id: alpha\n    name: &who 'Alpha Ltd'\n")
            + "\n  - id: beta\n    name: *who\n    leases: []\n"
        _ = folder.write("topology.yaml", topology)
        let main = folder.write("storey.yaml", "mqtt: {url: 'mqtt://127.0.0.1:1883', qos: 0x1, keep_alive: 1_0}\nhttp: {address: '127.0.0.1:0', open_health: off}\ntopology: topology.yaml\n")
        let configuration = try ConfigurationLoader.load(file: main)
        #expect(configuration.topology.spaces.map(\.capacity) == [20])
        #expect(configuration.topology.floors.map(\.grossArea) == [1000.5])
        #expect(configuration.topology.tenants.map(\.name) == ["Alpha Ltd", "Alpha Ltd"])
        #expect(configuration.mqtt.qos == 1 && configuration.mqtt.keepAlive == 10)
        #expect(configuration.httpAccess.openHealth == false)

        // A quoted number is text, an alias of an undefined anchor, a repeated key and a second document are errors.
        let quoted = folder.write("quoted.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\n  qos: \"1\"\ntopology: topology.yaml\n")
        #expect(folder.errors(quoted).map { "\($0.line) \($0.field) \($0.message)" } == ["3 mqtt.qos expected a whole number, got \"1\""])
        for (name, text, line, problem) in [
            ("alias.yaml", "mqtt:\n  url: *nowhere\n", 2, "undefined alias"),
            ("twice.yaml", "mqtt:\n  url: mqtt://a:1883\n  url: mqtt://b:1883\n", 3, "duplicate key \"url\""),
            ("many.yaml", "abcdefghij".map { "\($0): 1\n" }.joined() + "c: 2\n", 11, "duplicate key \"c\""),  // more than 8 keys
            ("two.yaml", "mqtt: {}\n---\nmqtt: {}\n", 2, "a second"),
        ] {
            let errors = folder.errors(folder.write(name, text))
            #expect(errors.count == 1 && errors[0].line == line && errors[0].message.hasPrefix("not valid YAML: "), "\(name): \(errors)")
            #expect(errors.first?.message.contains(problem) == true, "\(name): \(errors)")
        }
    }

    @Test func anEmptyOrBlankFileSaysSo() {
        let folder = ConfigFolder()
        for (name, text) in [("empty.yaml", ""), ("blank.yaml", "\n# only a comment\n")] {
            let errors = folder.errors(folder.write(name, text))
            #expect(errors.map(\.message) == ["the file is empty"], "\(name)")
            #expect(errors.first?.line == 1 && errors.first?.file.hasSuffix(name) == true)
        }
    }

    @Test func commandLineAndEnvironmentOverrideTheFile() throws {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", validTopology)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\n  ca_file: /etc/ssl/certs/ca-certificates.crt\ndatabase: a.db\nhttp:\n  address: 127.0.0.1:8080\ntopology: topology.yaml\n")
        let environment = ["STOREY_MQTT_URL": "mqtt://10.0.0.5:1999", "STOREY_DATABASE": "/tmp/env.db", "STOREY_HTTP_ADDRESS": "0.0.0.0:9000"]
        let fromEnvironment = try ConfigurationLoader.load(file: main, overrides: .from(mqttURL: nil, databasePath: nil, httpAddress: nil, environment: environment))
        #expect(fromEnvironment.mqtt.url == BrokerURL("mqtt://10.0.0.5:1999"))
        #expect(fromEnvironment.databasePath == "/tmp/env.db")
        #expect(fromEnvironment.http == HostPort(host: "0.0.0.0", port: 9000))
        let fromFlags = try ConfigurationLoader.load(file: main, overrides: .from(mqttURL: "mqtts://broker:8883", databasePath: "/tmp/flag.db", httpAddress: "[::1]:81", environment: environment))
        #expect(fromFlags.mqtt.url.tls)
        #expect(fromFlags.databasePath == "/tmp/flag.db")
        #expect(fromFlags.http == HostPort(host: "::1", port: 81))
    }

    @Test func secretsComeFromAFileOrASystemdCredential() throws {
        let folder = ConfigFolder()
        _ = folder.write("mqtt-password", "s3cret\n")
        #expect(try SecretReference.file("\(folder.path)/mqtt-password").read() == "s3cret")
        #expect(try SecretReference.credential("mqtt-password").read(environment: ["CREDENTIALS_DIRECTORY": folder.path]) == "s3cret")
        #expect(throws: SecretError.self) { try SecretReference.credential("mqtt-password").read(environment: [:]) }
    }
}

@Suite struct WorkingTimeConfigurationTests {
    func load(_ topology: String, extra files: [String: String] = [:]) -> (Configuration?, [ConfigError]) {
        let folder = ConfigFolder()
        for (name, text) in files { _ = folder.write(name, text) }
        _ = folder.write("topology.yaml", topology)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n")
        do {
            return (try ConfigurationLoader.load(file: main), [])
        } catch {
            return (nil, error.errors)
        }
    }

    @Test func tenantShiftsHolidaysAndMakeUpDaysDecideWorkingTime() throws {
        let topology = """
            working_hours:
              mon-fri: ["09:00-17:00"]
            buildings:
              - id: tower
                time_zone: Asia/Shanghai
                land_area: 6666.7
                holidays: [2026-10-01]
                make_up_days:
                  - { date: 2026-10-10, works_as: friday }
                floors:
                  - level: 1
                    area: 1000
                    spaces:
                      - { id: s1, area: 400, capacity: 20 }
            tenants:
              - id: night
                working_hours:
                  mon-fri: ["22:00-06:00"]
                targets: { output_per_m2_month: 120 }
                leases:
                  - { space: s1, start: 2026-01-01 }
            """
        let (loaded, errors) = load(topology)
        #expect(errors.isEmpty)
        let configuration = try #require(loaded)
        let tenant = try #require(configuration.workingTimes.workingTime(of: Scope(.tenant, 0), in: configuration.topology))
        let building = try #require(configuration.workingTimes.workingTime(of: Scope(.building, 0), in: configuration.topology))
        func at(_ local: String) -> Int64 { Int64(try! Date.ISO8601FormatStyle().parse(local + "+08:00").timeIntervalSince1970 * 1000) }
        #expect(tenant.isWorkingTime(at: at("2026-10-13T23:30:00")))       // Tuesday night shift
        #expect(!tenant.isWorkingTime(at: at("2026-10-13T12:00:00")))
        #expect(building.isWorkingTime(at: at("2026-10-13T12:00:00")))
        #expect(!building.isWorkingTime(at: at("2026-10-01T12:00:00")))    // holiday
        #expect(building.isWorkingTime(at: at("2026-10-10T12:00:00")))     // make-up Saturday
        #expect(configuration.topology.tenants[0].targets.outputPerSquareMetrePerMonth == 120)
    }

    @Test func badShiftsAndDaysNameTheirLine() {
        let topology = """
            working_hours:
              mon-fri: ["9-5"]
              funday: ["08:00-12:00"]
            buildings: []
            """
        let (_, errors) = load(topology)
        #expect(errors.contains { $0.line == 2 && $0.message.contains("\"9-5\" is not a shift") })
        #expect(errors.contains { $0.line == 3 && $0.message.contains("\"funday\" is not a day") })
    }

    @Test func holidaysComeFromAnICalendarFileWithErrorsNamingItsLine() throws {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261004\r\nSUMMARY:National Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        let topology = """
            buildings:
              - id: tower
                time_zone: Asia/Shanghai
                land_area: 6666.7
                holiday_calendar: holidays.ics
                floors: []
            """
        let (loaded, errors) = load(topology, extra: ["holidays.ics": ics])
        #expect(errors.isEmpty)
        let building = try #require(loaded?.workingTimes.workingTime(of: Scope(.building, 0), in: loaded!.topology))
        #expect(!building.isWorkingTime(at: 1_790_820_000_000))  // 2026-10-01 10:00 +08:00, a Thursday
        #expect(building.isWorkingTime(at: 1_790_820_000_000 + 7 * 86_400_000))  // the Thursday after
        let broken = ics.replacingOccurrences(of: "DTSTART;VALUE=DATE:20261001", with: "DTSTART;VALUE=DATE:2026-13-45")
        let (_, brokenErrors) = load(topology, extra: ["holidays.ics": broken])
        #expect(brokenErrors.contains { $0.file.hasSuffix("holidays.ics") && $0.line == 3 })
    }
}
