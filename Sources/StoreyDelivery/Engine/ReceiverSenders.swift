import Foundation

/// A configuration made ready to send: secrets read, renderers and SMTP senders built. Made anew on
/// reload; a configuration whose secrets cannot be read is refused whole, and the old one stays.
public struct ReceiverSenders: Sendable {
    public let configuration: DeliveryConfiguration
    public let settings: RenderingSettings
    let webhooks: [String: WebhookRenderer]
    let mailers: [String: SMTPSender]

    public init(_ configuration: DeliveryConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws(DeliveryError) {
        self.configuration = configuration
        settings = RenderingSettings(externalURL: configuration.externalURL, timeZone: configuration.timeZone)
        var webhooks: [String: WebhookRenderer] = [:]
        var mailers: [String: SMTPSender] = [:]
        for receiver in configuration.receivers {
            switch receiver.kind {
            case .webhook(var webhook):
                do {
                    if let secret = webhook.urlSecret { webhook.url = try secret.read(environment: environment) }
                    let secrets = try webhook.secrets.map { try $0.read(environment: environment) }
                    let signing = try webhook.signingSecret?.read(environment: environment)
                    webhooks[receiver.name] = try WebhookRenderer(
                        receiverName: receiver.name, webhook: webhook, language: receiver.language, settings: settings, secrets: secrets,
                        signingSecret: signing)
                } catch let error as DeliveryError {
                    throw .secret("receiver \(receiver.name): \(error)")
                } catch {
                    throw .secret("receiver \(receiver.name): \(error)")
                }
            case .email(let email):
                do {
                    let password = try email.password?.read(environment: environment)
                    mailers[receiver.name] = SMTPSender(email: email, password: password, threads: min(4, max(1, receiver.maxConcurrency)))
                } catch let error as DeliveryError {
                    throw .secret("receiver \(receiver.name): \(error)")
                } catch {
                    throw .secret("receiver \(receiver.name): \(error)")
                }
            }
        }
        self.webhooks = webhooks
        self.mailers = mailers
    }
}
