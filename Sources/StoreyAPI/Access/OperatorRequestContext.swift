import Hummingbird
import NIOCore

/// The request context of the operator's view: Hummingbird's basics plus the client's address, which the
/// limit on failed token attempts is kept by.
public struct OperatorRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

extension RequestContext {
    /// The client's IP address (without port), or "unknown" when the context does not carry one.
    var clientAddress: String {
        (self as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "unknown"
    }
}
