import Foundation
import StoreyConfig
import Testing

/// `alerting: history_retention:` — how long alert transitions are kept.
@Suite struct AlertHistoryRetentionConfigurationTests {
    let rules = RuleConfigurationTests()
    let rule = """
          - name: energy-low
            scope: { kind: tenant }
            metric: energy_intensity
            window: hour
            condition: { below: 0.05 }
        """

    @Test func historyIsKept400DaysUnlessConfigured() throws {
        let (defaults, errors, _) = rules.load(rules: rule)
        #expect(errors.isEmpty, "\(errors)")
        #expect(defaults?.alerting.historyRetention == 400.0 * 86400)
        let (configured, _, _) = rules.load(rules: rule, alerting: "alerting:\n  history_retention: 90d\n")
        #expect(configured?.alerting.historyRetention == 90.0 * 86400)
    }

    @Test func aRetentionUnderADayOrNotADurationIsRefusedNamingLineAndField() {
        for (value, message) in [("12h", "keep alert history at least 1d"), ("forever", "is not a duration")] {
            let (configuration, errors, main) = rules.load(rules: rule, alerting: "alerting:\n  evaluate_every: 15s\n  history_retention: \(value)\n")
            #expect(configuration == nil)
            #expect(
                errors.contains { $0.file == main && $0.line == 6 && $0.field.contains("history_retention") && $0.description.contains(message) },
                "\(errors)")
        }
    }
}
