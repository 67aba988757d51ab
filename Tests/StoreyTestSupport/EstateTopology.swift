/// A topology of several small buildings for estate tests: per building one floor, one space (`ID-s1`,
/// 400 m²), one energy counter (`ID-kwh`) and one power meter reporting every second (`ID-kw`), no
/// tenants.
public func estateTopology(buildings: [String]) -> String {
    """
    buildings:
    \(buildings.map { id in """
          - id: \(id)
            time_zone: Asia/Shanghai
            land_area: 5000
            floors:
              - level: 1
                area: 1000
                spaces:
                  - id: \(id)-s1
                    area: 400
                    points:
                      - { id: \(id)-kwh, quantity: energy }
                      - { id: \(id)-kw, quantity: power, expected_interval: 1s }
        """ }.joined(separator: "\n"))
    tenants: []
    """
}
