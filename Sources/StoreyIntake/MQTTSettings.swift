/// Which MQTT protocol version the client speaks.
public enum MQTTProtocolVersion: Sendable, Hashable {
    /// MQTT 3.1.1: a persistent session is "clean session off" with a fixed client id.
    case v311
    /// MQTT 5: a persistent session is "clean start off" plus a session-expiry interval.
    case v5
}

/// One topic filter to subscribe to, with the maximum QoS wanted for it.
public struct MQTTSubscription: Sendable, Hashable {
    public var topicFilter: String
    /// 0, 1 or 2: what the configuration asked for.
    public var qos: Int

    public init(topicFilter: String, qos: Int = 1) {
        self.topicFilter = topicFilter
        self.qos = qos
    }

    /// The QoS actually subscribed with: QoS 2 is asked for as QoS 1.
    ///
    /// libmosquitto 2.0.11 (Debian 12's) receives QoS 2 wrongly across reconnects: a PUBLISH the broker
    /// sends again (its PUBREC was lost with the link) is queued a second time and never released. Under
    /// MQTT 5 each such copy also uses up one unit of the Receive Maximum for good, until every connect
    /// fails at its first message with a protocol error (a reconnect loop that receives nothing:
    /// `MQTTIntakeCutTests`); under 3.1.1 the stale copy is the one handed over when the broker reuses
    /// its packet id, in place of the new message, which is lost. QoS 1 has neither fault, and Storey
    /// keeps a reading once by its point and time, so QoS 1 is exactly once as stored for readings that
    /// carry their time (a bare number is stamped on receipt: one sent again after a cut counts twice).
    public var subscribedQoS: Int { min(qos, 1) }
}

/// TLS towards the broker. TLS 1.2 is the minimum; the broker's certificate and host name are always verified.
public struct MQTTTLSSettings: Sendable, Hashable {
    /// PEM file with the certificate authorities that may sign the broker's certificate.
    public var caFile: String
    /// PEM client certificate, for brokers that require one (mutual TLS). Needs `keyFile`.
    public var certFile: String?
    /// PEM private key of `certFile`.
    public var keyFile: String?

    public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

/// Reconnect delays: exponential growth from `initial` up to `maximum`, with full jitter.
public struct MQTTBackoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }
}

/// Everything the intake (and the publisher) need to reach a broker.
public struct MQTTSettings: Sendable {
    public var host: String
    public var port: Int
    public var protocolVersion: MQTTProtocolVersion
    /// Fixed client id: the broker keys the persistent session on it.
    public var clientID: String
    /// `false` (the default) keeps a persistent session across disconnects.
    public var cleanSession: Bool
    /// MQTT 5 only: how long, in seconds, the broker keeps the session after a disconnect.
    public var sessionExpiry: UInt32
    /// Keep-alive interval in seconds (at least 5).
    public var keepAlive: Int
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSSettings?
    public var subscriptions: [MQTTSubscription]
    /// How many QoS 1/2 messages the broker may have in flight towards us.
    public var receiveMaximum: Int
    public var backoff: MQTTBackoff
    /// Back-pressure bound: when this many messages wait for `nextBatch()`, the socket is not read.
    public var maxBufferedMessages: Int
    /// Second back-pressure bound, on the bytes of topics and payloads waiting for `nextBatch()`.
    public var maxBufferedBytes: Int
    /// QoS 1 acknowledgements (and every other packet) go out only once everything handed over is
    /// stored: the consumer's next `nextBatch()` call says the previous batch is. A message is then the
    /// broker's until it is in storage, so whoever resumes the session next (after a kill, another
    /// instance taking over a shard) receives it again; the local journal is no longer what keeps it.
    /// The broker's in-flight window (`receiveMaximum`, MQTT 5) bounds how much one store round takes.
    public var acknowledgeAfterStoring = false

    public init(
        host: String = "127.0.0.1",
        port: Int = 1883,
        protocolVersion: MQTTProtocolVersion = .v311,
        clientID: String,
        cleanSession: Bool = false,
        sessionExpiry: UInt32 = 7 * 24 * 3600,
        keepAlive: Int = 30,
        username: String? = nil,
        password: String? = nil,
        tls: MQTTTLSSettings? = nil,
        subscriptions: [MQTTSubscription] = [],
        receiveMaximum: Int = 100,
        backoff: MQTTBackoff = MQTTBackoff(),
        maxBufferedMessages: Int = 20_000,
        maxBufferedBytes: Int = 64 << 20
    ) {
        self.host = host
        self.port = port
        self.protocolVersion = protocolVersion
        self.clientID = clientID
        self.cleanSession = cleanSession
        self.sessionExpiry = sessionExpiry
        self.keepAlive = keepAlive
        self.username = username
        self.password = password
        self.tls = tls
        self.subscriptions = subscriptions
        self.receiveMaximum = receiveMaximum
        self.backoff = backoff
        self.maxBufferedMessages = maxBufferedMessages
        self.maxBufferedBytes = maxBufferedBytes
    }
}
