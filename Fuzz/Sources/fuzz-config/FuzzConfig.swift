import Foundation
import StoreyConfig

/// A private folder for the configuration file the loader reads (in memory when /dev/shm exists).
let folder: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/storey-fuzz-config-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// Configuration text as an operator might write it: loaded, or refused with errors that name a file
/// and a field, never a crash. (The loader reads files, so the text goes through one.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = "\(folder)/storey.yaml"
    guard FileManager.default.createFile(atPath: file, contents: Data(bytes: data, count: size)) else {
        fatalError("cannot write \(file)")
    }
    do {
        let configuration = try ConfigurationLoader.load(file: file)
        if configuration.topology.points.count != configuration.topology.pointByTopic.count {
            fatalError("loaded a topology in which two points share a topic")
        }
    } catch {
        for problem in error.errors where problem.message.isEmpty {
            fatalError("an error without a message: \(problem)")
        }
    }
    return 0
}
