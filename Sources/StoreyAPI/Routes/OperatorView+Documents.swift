import Foundation
import Hummingbird

/// The files served as they are: the dashboard at `/` and the OpenAPI document. They are resources of
/// this target (`Resources/`), read once at start.
extension OperatorView {
    func addDocumentRoutes<Context: RequestContext>(to router: Router<Context>, api: RouterGroup<Context>) {
        let openAPI = Self.resource("openapi.yaml")
        api.get("openapi.yaml") { _, _ -> Response in
            guard let openAPI else { throw Problem.internalError("the OpenAPI document is missing from this installation") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
        let files: [(path: String, file: String, type: String)] = [
            ("/", "index.html", "text/html; charset=utf-8"),
            // The link notifications carry: the dashboard opens on that alert (its script reads the path).
            ("/alerts/:fingerprint", "index.html", "text/html; charset=utf-8"),
            ("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
            ("/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
        ]
        for entry in files {
            let contents = Self.resource("dashboard/" + entry.file)
            router.get(RouterPath(entry.path)) { _, _ -> Response in
                guard let contents else { throw Problem.internalError("the dashboard file \(entry.file) is missing from this installation") }
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: entry.type, .cacheControl: "no-cache",
                        // Own code only: no third-party script or style may run in the page.
                        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
                    ],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: contents)))
            }
        }
    }

    /// Where the resource folder may be: `$STOREY_RESOURCES`, beside the executable (where `swift build`
    /// puts it), or where a package installs it. Looked up by hand rather than through `Bundle.module`,
    /// which stops the process when the folder is missing; here a missing file only fails its route.
    static let resourceFolders: [URL] = {
        let name = "Storey_StoreyAPI.resources"
        var folders: [URL] = []
        if let override = ProcessInfo.processInfo.environment["STOREY_RESOURCES"] { folders.append(URL(fileURLWithPath: override)) }
        folders.append(Bundle.main.bundleURL.appendingPathComponent(name))
        folders.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name))
        folders.append(URL(fileURLWithPath: "/usr/share/storey").appendingPathComponent(name))
        return folders
    }()

    static func resource(_ name: String) -> [UInt8]? {
        for folder in resourceFolders {
            if let data = try? Data(contentsOf: folder.appendingPathComponent(name)) { return Array(data) }
        }
        return nil
    }
}
