import Foundation
import StoreyConfig
import StoreyCore
import Testing

@Suite struct RuleConfigurationTests {
    func load(rules: String, alerting: String = "") -> (Configuration?, [ConfigError], String) {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", validTopology)
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n\(alerting)rules:\n\(rules)")
        do {
            return (try ConfigurationLoader.load(file: main), [], main)
        } catch {
            return (nil, error.errors, main)
        }
    }

    @Test func everyKindOfRuleIsRead() throws {
        let (configuration, errors, _) = load(rules: """
              - name: energy-low
                scope: { kind: tenant }
                metric: energy_intensity
                window: hour
                condition: { below: 0.05 }
                for: 3h
                resolve: { margin_percent: 20 }
                severity: critical
                labels: { team: leasing }
                annotations: { summary: "low" }
              - name: occupancy-low
                scope: { kind: tenant, ids: [alpha] }
                metric: mean_occupancy
                window: day
                condition: { below_percent_of_capacity: 15 }
              - name: below-baseline
                scope: { kind: floor }
                metric: power
                window: hour
                condition: { below_percent_of_baseline: 30 }
                for: 4h
                applies: always
              - name: target
                scope: { kind: tenant, labels: { chain: electronics } }
                metric: output_density
                window: month
                condition: { below_target: true }
              - name: dark
                scope: { kind: tenant }
                metric: power
                window: day
                condition: { dark_space: { max_occupancy: 2, base_load: 5 } }
                for: 3d
              - name: silent
                scope: { kind: point }
                condition: { silent_intervals: 5 }
            """, alerting: "alerting:\n  flap_period: 30m\n  repeat_interval: never\n  baseline: { weeks: 6, minimum_weeks: 3 }\n")
        #expect(errors.isEmpty, "\(errors)")
        let rules = try #require(configuration?.rules)
        #expect(rules.map(\.name) == ["energy-low", "occupancy-low", "below-baseline", "target", "dark", "silent"])
        #expect(rules[0].condition == .below(0.05) && rules[0].holdFor == 3 * 3_600_000 && rules[0].resolve == .marginPercent(20))
        #expect(rules[0].severity == .critical && rules[0].labels == ["team": "leasing"] && rules[0].applies == .workingTime)
        #expect(rules[1].scope == ScopeSelector(.tenant, .ids(["alpha"])))
        #expect(rules[2].applies == .always && rules[2].condition == .belowPercentOfBaseline(30))
        #expect(rules[3].scope == ScopeSelector(.tenant, .labels(["chain": "electronics"])))
        #expect(rules[4].condition == .darkSpace(maximumOccupancy: 2, baseLoad: 5))
        #expect(rules[5].isSilentPointRule && rules[5].applies == .always)
        #expect(configuration?.alerting.flapPeriod == 1800 && configuration?.alerting.repeatInterval == nil)
        #expect(configuration?.alerting.baselineWeeks == 6)
    }

    @Test func badRulesAreRefusedNamingLineAndWhatIsWrong() {
        let (_, errors, main) = load(rules: """
              - name: two-conditions
                scope: { kind: tenant }
                metric: energy_intensity
                window: hour
                condition: { below: 0.05, below_target: true }
              - name: unknown-tenant
                scope: { kind: tenant, ids: [nobody] }
                metric: power
                window: hour
                condition: { below: 1 }
              - name: silent-tenant
                scope: { kind: tenant }
                condition: { silent_intervals: 3 }
              - name: capacity-on-power
                scope: { kind: tenant }
                metric: power
                window: day
                condition: { below_percent_of_capacity: 15 }
              - name: two-conditions
                scope: { kind: tenant }
                metric: power
                window: fortnight
                condition: { below: 1 }
            """)
        func error(line: Int, _ text: String) -> Bool {
            errors.contains { $0.file == main && $0.line == line && $0.description.contains(text) }
        }
        #expect(error(line: 9, "give one condition, not below and below_target"), "\(errors)")
        #expect(error(line: 11, "no tenant \"nobody\""), "\(errors)")
        #expect(error(line: 15, "silent-point rule watches points"), "\(errors)")
        #expect(error(line: 18, "capacity-relative condition compares mean_occupancy"), "\(errors)")
        #expect(error(line: 26, "\"fortnight\" is not one of"), "\(errors)")
    }

    @Test func duplicateRuleNamesAreRefused() {
        let rule = """
              - name: same
                scope: { kind: tenant }
                metric: power
                window: hour
                condition: { below: 1 }

            """
        let (_, errors, _) = load(rules: rule + rule)
        #expect(errors.contains { $0.line == 10 && $0.message.contains("already used at line 5") }, "\(errors)")
    }

    @Test func pointsTellHowOftenTheyReport() throws {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", "expected_interval: 5m\n" + validTopology.replacingOccurrences(
            of: "{ id: s1-kw, quantity: power }", with: "{ id: s1-kw, quantity: power, expected_interval: 15s }"))
        let main = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n")
        let topology = try ConfigurationLoader.load(file: main).topology
        #expect(topology.points.map(\.expectedInterval) == [15_000, 300_000, 300_000])
    }
}
