import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port nobody listens on right now.
///
/// Chosen below Linux's ephemeral range (32768–60999): a port the kernel hands out for `bind(0)` can be
/// given again a moment later as the local port of some client connection of a parallel test, and the
/// server meant for it then fails with "address in use". Ports are also never handed out twice by this
/// process.
public func freePort() -> Int {
    while true {
        let candidate = handedOutPorts.withLock { used -> Int? in
            let port = Int.random(in: 20_000..<32_000)
            return used.insert(port).inserted ? port : nil
        }
        if let candidate, canBind(candidate) { return candidate }
    }
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func canBind(_ port: Int) -> Bool {
    let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketDescriptor >= 0 else { return false }
    defer { close(socketDescriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return bound == 0
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func portAcceptsConnections(_ port: Int) -> Bool {
    let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketDescriptor >= 0 else { return false }
    defer { close(socketDescriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}

/// A fresh private directory under the system temp folder.
public func makeTemporaryDirectory(prefix: String = "storey-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A short unique name for client ids and topics, so parallel tests never share a session or a topic.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(12).lowercased())"
}
