/// Whose working time applies to which scope: tenants have their own hours, floors and buildings the
/// building's default hours; every scope follows its building's holiday calendar and time zone.
public struct WorkingTimeTable: Sendable {
    public var defaultHours: WorkingHours
    /// Tenant index → its working hours.
    public var tenantHours: [Int: WorkingHours]
    /// Building index → its holiday calendar.
    public var calendars: [Int: HolidayCalendar]

    public init(defaultHours: WorkingHours, tenantHours: [Int: WorkingHours] = [:], calendars: [Int: HolidayCalendar] = [:]) {
        self.defaultHours = defaultHours
        self.tenantHours = tenantHours
        self.calendars = calendars
    }

    public func workingTime(of scope: Scope, in topology: Topology) -> WorkingTime? {
        guard let building = topology.buildingIndex(of: scope) else { return nil }
        let hours = scope.kind == .tenant ? tenantHours[scope.index] ?? defaultHours : defaultHours
        return WorkingTime(hours: hours, calendar: calendars[building] ?? .none, timeZone: topology.buildings[building].timeZone)
    }
}
