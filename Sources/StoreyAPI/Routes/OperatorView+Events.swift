import Foundation
import HTTPTypes
import Hummingbird

/// `GET /api/v1/events`: Server-Sent Events. `window` events carry a building's window figures as each
/// window closes; `status` events the broker and store state when it changes (and first thing on
/// connecting); `heartbeat` events keep idle connections open. A client that reconnects with
/// `Last-Event-ID` gets the window events it missed while they are still kept, or a `gap` event telling it
/// to reload the live state.
extension OperatorView {
    func addEventRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("events") { request, _ -> Response in
            var lastEventID: Int64?
            if let text = request.headers[.lastEventID] ?? request.uri.queryParameters["lastEventId"].map(String.init) {
                guard let id = Int64(text) else {
                    throw Problem.badParameter("Last-Event-ID", "\"\(text)\" is not an event id (ids are whole numbers)")
                }
                lastEventID = id
            }
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"]
            // HEAD (answered from this GET handler) must not hold a client slot for a stream nobody reads.
            guard request.method != .head else { return Response(status: .ok, headers: headers) }
            let subscription = self.events.subscribe(lastEventID: lastEventID)
            let status = try Self.statusEvent(self.status())
            let body = ResponseBody { writer in
                var opening = ByteBuffer(string: "retry: 3000\n\n")
                if subscription.gap {
                    opening.writeImmutableBuffer(StreamEvent(name: "gap", data: "{\"reason\":\"events after the last one seen are no longer kept\"}").wire)
                }
                for event in subscription.missed { opening.writeImmutableBuffer(event.wire) }
                opening.writeImmutableBuffer(status.wire)
                try await writer.write(opening)
                // The bytes each event was encoded to once, shared by every client.
                for await event in subscription.events {
                    try await writer.write(event.wire)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    static func statusEvent(_ status: DaemonStatus) throws -> StreamEvent {
        StreamEvent(name: "status", data: String(decoding: try JSONOutput.encoder.encode(status), as: UTF8.self))
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
