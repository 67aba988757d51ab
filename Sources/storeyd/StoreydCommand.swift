import ArgumentParser
import Foundation
import Logging
import StoreyConfig
import StoreyDaemon

/// The Storey daemon. Under systemd, see `systemd/storeyd.service`.
@main
struct StoreyDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storeyd",
        abstract: "Storey: live space use and output density of an industrial tower, from its MQTT meters.")

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String = "/etc/storey/storey.yaml"

    @Option(name: .customLong("mqtt-url"), help: "Broker, mqtt://HOST:PORT or mqtts://HOST:PORT (env STOREY_MQTT_URL).")
    var mqttURL: String?

    @Option(name: .long, help: "SQLite database file (env STOREY_DATABASE).")
    var database: String?

    @Option(name: .customLong("http-address"), help: "HTTP listen address HOST:PORT (env STOREY_HTTP_ADDRESS).")
    var httpAddress: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env STOREY_LOG_LEVEL).")
    var logLevel: String?

    func run() async throws {
        settleMemoryAllocator()
        let level = (logLevel ?? ProcessInfo.processInfo.environment["STOREY_LOG_LEVEL"]).flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = JournalLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "storeyd")
        let overrides = ConfigurationOverrides.from(mqttURL: mqttURL, databasePath: database, httpAddress: httpAddress)
        do {
            try await Daemon(configurationFile: config, overrides: overrides, logger: logger).run()
        } catch let errors as ConfigErrors {
            for error in errors.errors { logger.critical("\(error)") }
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
