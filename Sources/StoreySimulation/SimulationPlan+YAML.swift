import Foundation
import StoreyCore
import Yams

/// A problem in a simulation plan file, naming the file, line and field.
public struct SimulationPlanError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var field: String
    public var message: String
    public var description: String { "\(file):\(line): \(field): \(message)" }
}

extension SimulationPlan {
    /// Reads a plan:
    /// ```yaml
    /// tenants:                        # tenant id → kind
    ///   xinda-electronics: electronics-assembly
    /// underuse:
    ///   - { tenant: hongtu-holdings, scenario: hoarding }
    ///   - { tenant: mingda-packaging, scenario: line-stopped, from: 2026-11-02, days: 7, repeat_every: 28 }
    ///   - { space: b11-02, scenario: dark }
    /// faults:
    ///   - { point: b07-01-people, fault: dropout, every: 6h, for: 40m }
    ///   - { point: b09-01-kwh, fault: counter-reset, every: 2d }
    /// ```
    /// Throws every problem found.
    public init(yaml text: String, file: String) throws(SimulationPlanErrors) {
        var errors: [SimulationPlanError] = []
        func fail(_ node: Node?, _ field: String, _ message: String) {
            errors.append(SimulationPlanError(file: file, line: (node?.mark?.line ?? 0), field: field, message: message))
        }
        self.init()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SimulationPlanErrors([SimulationPlanError(file: file, line: 0, field: "", message: "not valid YAML: \(error)")])
        }
        // An empty file is an empty plan.
        guard let root else { return }
        guard let top = root.mapping else {
            throw SimulationPlanErrors([SimulationPlanError(file: file, line: root.mark?.line ?? 0, field: "", message: "expected a mapping with tenants, underuse and faults")])
        }
        for (key, value) in top {
            switch key.string ?? "" {
            case "tenants":
                guard let mapping = value.mapping else { fail(value, "tenants", "expected tenant ids mapped to kinds"); continue }
                for (tenant, kindNode) in mapping {
                    let id = tenant.string ?? ""
                    guard let kind = kindNode.string.flatMap(TenantKind.init(rawValue:)) else {
                        fail(kindNode, "tenants.\(id)", "\"\(kindNode.string ?? "")\" is not one of \(TenantKind.allCases.map(\.rawValue).joined(separator: ", "))")
                        continue
                    }
                    kinds[id] = kind
                }
            case "underuse":
                for (index, entry) in (value.sequence ?? []).enumerated() {
                    let field = "underuse[\(index)]"
                    guard let fields = entry.mapping else { fail(entry, field, "expected a mapping"); continue }
                    let scenarioName = fields["scenario"]?.string
                    let scenario: UnderuseScenario
                    switch scenarioName {
                    case "hoarding": scenario = .hoarding
                    case "dark": scenario = .dark
                    case "line-stopped":
                        guard let from = fields["from"]?.string.flatMap(LocalDate.init) else {
                            fail(fields["from"] ?? entry, "\(field).from", "a stopped line needs the first day it stands still, YYYY-MM-DD")
                            continue
                        }
                        guard let days = fields["days"]?.int, days > 0 else {
                            fail(fields["days"] ?? entry, "\(field).days", "expected a whole number of days above 0")
                            continue
                        }
                        scenario = .lineStopped(from: from, days: days, repeatEvery: fields["repeat_every"]?.int)
                    default:
                        fail(fields["scenario"] ?? entry, "\(field).scenario", "\"\(scenarioName ?? "")\" is not one of hoarding, line-stopped, dark")
                        continue
                    }
                    if let tenant = fields["tenant"]?.string {
                        tenantScenarios[tenant] = scenario
                    } else if let space = fields["space"]?.string {
                        spaceScenarios[space] = scenario
                    } else {
                        fail(entry, field, "name the tenant or the space that under-uses")
                    }
                }
            case "faults":
                for (index, entry) in (value.sequence ?? []).enumerated() {
                    let field = "faults[\(index)]"
                    guard let fields = entry.mapping, let point = fields["point"]?.string else { fail(entry, field, "expected { point: ID, fault: … }"); continue }
                    guard let every = fields["every"]?.string.flatMap(Self.seconds) else {
                        fail(fields["every"] ?? entry, "\(field).every", "expected a duration such as 6h, 40m or 2d")
                        continue
                    }
                    switch fields["fault"]?.string {
                    case "dropout":
                        guard let duration = fields["for"]?.string.flatMap(Self.seconds), duration < every else {
                            fail(fields["for"] ?? entry, "\(field).for", "expected a duration shorter than every, such as 40m")
                            continue
                        }
                        faults[point, default: []].append(.dropout(period: every, duration: duration))
                    case "counter-reset":
                        faults[point, default: []].append(.counterReset(period: every))
                    default:
                        fail(fields["fault"] ?? entry, "\(field).fault", "\"\(fields["fault"]?.string ?? "")\" is not one of dropout, counter-reset")
                    }
                }
            default:
                fail(key, key.string ?? "", "unknown key; expected tenants, underuse or faults")
            }
        }
        if !errors.isEmpty { throw SimulationPlanErrors(errors) }
    }

    static func seconds(_ text: String) -> Double? {
        PlaybackTime.duration(text).flatMap { $0 > 0 ? $0 : nil }
    }
}

public struct SimulationPlanErrors: Error, CustomStringConvertible {
    public var errors: [SimulationPlanError]
    public init(_ errors: [SimulationPlanError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
