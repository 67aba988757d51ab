import ArgumentParser
import Foundation
import StoreyConfig
import StoreyDaemon
import StoreyIntake

/// The MQTT publisher `simulate` and `replay` share: the configuration's broker and credentials, a client
/// id of its own, a clean session.
enum Publishing {
    static func connect(_ configuration: Configuration, name: String) async throws -> MQTTPublisher {
        var settings = try Daemon.mqttSettings(configuration)
        settings.clientID = "storey-\(name)-\(getpid())"
        settings.cleanSession = true
        settings.subscriptions = []
        let publisher = MQTTPublisher(settings: settings)
        do {
            try await publisher.connect()
        } catch {
            throw commandFailure(name, "cannot connect to the broker at \(configuration.mqtt.url): \(error)")
        }
        return publisher
    }
}

/// Prints `storey COMMAND: message` (each line of it) on standard error; throw the result to exit 1.
func commandFailure(_ command: String, _ message: String) -> ExitCode {
    let text = message.split(separator: "\n").map { "storey \(command): \($0)\n" }.joined()
    FileHandle.standardError.write(Data(text.utf8))
    return ExitCode(1)
}

/// Writes a line to standard output at once (unbuffered), so progress shows as it happens also in a log file.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
