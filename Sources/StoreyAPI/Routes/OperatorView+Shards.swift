import Hummingbird

/// An estate's shards, as `GET /api/v1/shards` lists them: which instance holds each, so an operator (and
/// the dashboard) sees ownership move when an instance dies. A single instance has none.
public struct ShardsJSON: Codable, Sendable {
    /// The instance answering; nil (absent) on a single instance.
    public var instance: String?
    public var shards: [ShardJSON]

    public init(instance: String?, shards: [ShardJSON]) {
        self.instance = instance
        self.shards = shards
    }
}

public struct ShardJSON: Codable, Sendable {
    public var shard: String
    public var buildings: [String]
    /// The holding instance; nil when nobody holds it now.
    public var instance: String?
    /// Since when (RFC 3339) it holds it, and when it last said it still does.
    public var since: String?
    public var lastSeen: String?
    /// Held by the instance answering.
    public var heldHere: Bool

    public init(shard: String, buildings: [String], instance: String?, since: Int64?, lastSeen: Int64?, heldHere: Bool) {
        self.shard = shard
        self.buildings = buildings
        self.instance = instance
        self.since = since.map(OperatorView.iso)
        self.lastSeen = lastSeen.map(OperatorView.iso)
        self.heldHere = heldHere
    }
}

extension OperatorView {
    /// On an estate instance: where `/api/v1/shards` reads who holds which shard.
    public func attachShards(_ source: @escaping @Sendable () async throws -> ShardsJSON) {
        shardSource.withLock { $0 = source }
    }

    func addShardRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("shards") { _, _ -> Response in
            let source = self.shardSource.withLock { $0 }
            return try JSONOutput.response(try await source?() ?? ShardsJSON(instance: nil, shards: []))
        }
        knownPaths.declare("/api/v1/shards", [.get, .head])
    }
}
