import Foundation
import StoreyCore
import StoreyStore

/// Where storeyd keeps readings, figures, alerts and the outbox: a SQLite file (the default: one tower,
/// one server), or a PostgreSQL database shared by several instances watching an estate.
public enum StorageConfiguration: Sendable, Equatable {
    /// The file is `Configuration.databasePath` (`database:`, `--database`, `STOREY_DATABASE`).
    case sqlite
    case postgresql(PostgresStorage)
}

/// The PostgreSQL store and this instance's part in the estate (see `docs/estate.md`).
public struct PostgresStorage: Sendable, Equatable {
    public var location: PostgresLocation
    /// nil: the server lets this user in without one (peer or trust authentication).
    public var password: SecretReference?
    /// This instance's name in `shard_owner` and in the API (default: the host name).
    public var instance: String
    /// The estate's buildings divided into shards; every building is in exactly one.
    public var shards: [ShardConfiguration]
    /// The shards this instance takes when they are free (default: all).
    public var owns: [String]
    /// Whether it also takes any other shard whose owner has died.
    public var standby: Bool

    /// The shards this instance stands by for: the others, when `standby`.
    public var standbyFor: [String] { standby ? shards.map(\.name).filter { !owns.contains($0) } : [] }
}

/// A fixed set of buildings that one instance at a time takes in, over an MQTT session of the shard's own.
public struct ShardConfiguration: Sendable, Equatable {
    /// Letters, digits, `-` and `_`: it becomes part of the MQTT client id.
    public var name: String
    /// Building ids, as in the topology.
    public var buildings: [String]

    public init(name: String, buildings: [String]) {
        self.name = name
        self.buildings = buildings
    }
}

extension ConfigurationLoader {
    /// Reads `storage:`: absent or `sqlite` for the SQLite file, or a mapping with `postgresql:`.
    static func readStorage(_ node: ConfigNode?, topology: Topology?) -> StorageConfiguration {
        guard let node else { return .sqlite }
        if node.node.isScalar {
            guard let text = node.string else { return .sqlite }
            if text != "sqlite" { node.fail("\"\(text)\" is not a storage; use sqlite (the default, with database:) or a postgresql: section") }
            return .sqlite
        }
        guard let section = node.mapping(allowed: ["postgresql"]), let postgres = section.required("postgresql"),
            let storage = readPostgres(postgres, topology: topology)
        else { return .sqlite }
        return .postgresql(storage)
    }

    private static func readPostgres(_ node: ConfigNode, topology: Topology?) -> PostgresStorage? {
        guard let section = node.mapping(allowed: ["url", "password_file", "password_credential", "instance", "shards", "owns", "standby"]) else {
            return nil
        }
        var location: PostgresLocation?
        if let url = section.required("url"), let text = url.string {
            do {
                location = try PostgresLocation(url: text)
            } catch {
                url.fail("\(error)")
            }
        }
        var password: SecretReference?
        if let file = section["password_file"]?.string { password = .file(file) }
        if let credential = section["password_credential"], let name = credential.string {
            if password != nil { credential.fail("give password_file or password_credential, not both") }
            password = .credential(name)
        }
        var instance = ProcessInfo.processInfo.hostName
        if let node = section["instance"], let name = node.string {
            if Self.isShardName(name) { instance = name } else { node.fail("\"\(name)\" is not a usable instance name: use letters, digits, '-' and '_'") }
        }
        let shards = readShards(section["shards"], topology: topology)
        let names = shards.map(\.name)
        var owns = names
        if let node = section["owns"] {
            owns = []
            for entry in node.sequence() {
                guard let name = entry.string else { continue }
                if !names.contains(name) {
                    entry.fail("no shard is named \"\(name)\"; the shards are \(names.joined(separator: ", "))")
                } else if owns.contains(name) {
                    entry.fail("\"\(name)\" is listed twice")
                } else {
                    owns.append(name)
                }
            }
        }
        let standby = section["standby"]?.bool ?? false
        if owns.isEmpty && !standby, let node = section["owns"] {
            node.fail("an instance that owns no shard must be a standby (standby: true), or it would take nothing in")
        }
        guard let location else { return nil }
        return PostgresStorage(location: location, password: password, instance: instance, shards: shards, owns: owns, standby: standby)
    }

    /// The shards, each building in exactly one; without a `shards:` list, one shard `estate` holding every building.
    private static func readShards(_ node: ConfigNode?, topology: Topology?) -> [ShardConfiguration] {
        let buildingIDs = topology?.buildings.map(\.id) ?? []
        guard let node else { return [ShardConfiguration(name: "estate", buildings: buildingIDs)] }
        var shards: [ShardConfiguration] = []
        var shardOf: [String: String] = [:]
        let entries = node.sequence()
        if entries.isEmpty, node.node.kind == .sequence { node.fail("list at least one shard, or leave shards out for one shard of every building") }
        for entry in entries {
            guard let section = entry.mapping(allowed: ["name", "buildings"]) else { continue }
            guard let nameNode = section.required("name"), let name = nameNode.string else { continue }
            if !Self.isShardName(name) {
                nameNode.fail("\"\(name)\" is not a usable shard name: use letters, digits, '-' and '_' (it becomes part of the MQTT client id)")
                continue
            }
            if shards.contains(where: { $0.name == name }) {
                nameNode.fail("a shard named \"\(name)\" is already listed")
                continue
            }
            var buildings: [String] = []
            for building in section.required("buildings")?.sequence() ?? [] {
                guard let id = building.string else { continue }
                if topology != nil, !buildingIDs.contains(id) {
                    building.fail("no building \"\(id)\" in the topology; its buildings are \(buildingIDs.joined(separator: ", "))")
                } else if let other = shardOf[id] {
                    building.fail("building \"\(id)\" is already in shard \"\(other)\"; a building belongs to one shard")
                } else {
                    shardOf[id] = name
                    buildings.append(id)
                }
            }
            if buildings.isEmpty, section["buildings"] != nil { section["buildings"]!.fail("a shard needs at least one building") }
            shards.append(ShardConfiguration(name: name, buildings: buildings))
        }
        if topology != nil, !shards.isEmpty {
            let left = buildingIDs.filter { shardOf[$0] == nil }
            if !left.isEmpty {
                node.fail("building\(left.count == 1 ? "" : "s") \(left.joined(separator: ", ")) in no shard: nobody would take \(left.count == 1 ? "its" : "their") readings in")
            }
        }
        return shards
    }

    static func isShardName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }
}
