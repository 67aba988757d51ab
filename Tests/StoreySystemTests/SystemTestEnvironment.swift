import Foundation
import StoreyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine can run the system tests: build the Debian package, and boot systemd in a
/// container (root, systemd-nspawn). Where it cannot, the tests are skipped with the reason, unless
/// `STOREY_REQUIRE_SYSTEM_TESTS=1` (set by `scripts/test` when run as root, as CI does), which turns a
/// missing piece into a failure rather than a skip.
enum SystemTestEnvironment {
    /// Why the Debian package cannot be built here, or nil.
    static let packagingMissing: String? = firstMissing(["dpkg-deb", "dpkg-shlibdeps", "objcopy"], package: "dpkg-dev binutils")

    /// Why the package cannot be checked with lintian here, or nil.
    static let lintianMissing: String? = packagingMissing ?? firstMissing(["lintian"], package: "lintian")

    /// Why a container cannot be booted here, or nil.
    static let containerMissing: String? = {
        if let packagingMissing { return packagingMissing }
        if getuid() != 0 { return "needs root: systemd-nspawn boots the container (run scripts/test as root, as CI does)" }
        if let missing = firstMissing(["systemd-nspawn"], package: "systemd-container") { return missing }
        if let missing = firstMissing(["mosquitto", "mosquitto_passwd"], package: "mosquitto") { return missing }
        if let missing = firstMissing(["mosquitto_pub", "mosquitto_sub"], package: "mosquitto-clients") { return missing }
        if let missing = firstMissing(["curl"], package: "curl") { return missing }
        if !FileManager.default.isExecutableFile(atPath: "/usr/lib/systemd/systemd") {
            return "needs systemd in /usr (the container boots this machine's /usr): apt-get install systemd"
        }
        return nil
    }()

    static var required: Bool { ProcessInfo.processInfo.environment["STOREY_REQUIRE_SYSTEM_TESTS"] == "1" }

    static var canPackage: Bool { packagingMissing == nil || required }
    static var canLint: Bool { lintianMissing == nil || required }
    static var canBootContainer: Bool { containerMissing == nil || required }

    /// Throws (so the test fails, saying what is missing) when a required environment is incomplete.
    static func requireContainer() throws {
        if let containerMissing { throw TestSupportError("system test required but cannot run: \(containerMissing)") }
    }

    static func requirePackaging() throws {
        if let packagingMissing { throw TestSupportError("packaging test required but cannot run: \(packagingMissing)") }
    }

    static func requireLintian() throws {
        if let lintianMissing { throw TestSupportError("lintian test required but cannot run: \(lintianMissing)") }
    }

    private static func firstMissing(_ tools: [String], package: String) -> String? {
        for tool in tools where (try? locateExecutable(tool, package: package)) == nil {
            return "needs \(tool): apt-get install -y \(package) (scripts/install-dependencies does)"
        }
        return nil
    }
}
