import Foundation
import StoreyTestSupport

/// The release `.deb`: the one `scripts/test` built before the tests (`STOREY_DEB`), or else built once per
/// test run by `Deploy/build-deb` in a build folder of its own (`swift test` holds `.build`'s lock).
enum StoreyPackage {
    static let built: Task<URL, Error> = Task {
        if let path = ProcessInfo.processInfo.environment["STOREY_DEB"] { return URL(fileURLWithPath: path) }
        let arguments = [
            "--output", Repository.file(".build/system-tests/deb").path,
            "--scratch-path", Repository.file(".build/system-tests/swiftpm").path,
        ]
        let result = try await runCommand(Repository.file("Deploy/build-deb"), arguments, timeout: .seconds(45 * 60))
        guard result.status == 0, let path = result.output.split(separator: "\n").last.map(String.init) else {
            throw TestSupportError("Deploy/build-deb failed (\(result.status)):\n\(result.errorOutput.suffix(3000))")
        }
        return URL(fileURLWithPath: path)
    }

    /// `dpkg-deb OPTION PACKAGE [NAMES…]` on the built package (`--field`, `--contents`, `--info`).
    static func inspect(_ option: String, _ names: [String] = []) async throws -> String {
        let package = try await built.value
        let dpkgDeb = try locateExecutable("dpkg-deb", package: "dpkg")
        let arguments = [option, package.path] + names
        let result = try await runCommand(dpkgDeb, arguments)
        guard result.status == 0 else { throw TestSupportError("dpkg-deb \(arguments.joined(separator: " ")) failed: \(result.errorOutput)") }
        return result.output
    }
}
