/// Run Command's delivery policy, as in SSM: a sliding window of MaxConcurrency
/// invocations in flight, filled in target order; once errors exceed MaxErrors
/// nothing more is sent and the waiting invocations end `Terminated`. The status is
/// the command's aggregate (`CommandAggregate`).
struct RunCommandPolicy: DeliveryPolicy {
    func plan(_ command: CommandRecord, _ invocations: [InvocationState], deliverable: (String) -> Bool) -> DeliveryPlan {
        let targets = command.targetCount
        let concurrency = command.maxConcurrency.concurrency(targets: targets)
        let errors = invocations.filter { CommandAggregate.isError(status: $0.status, details: $0.statusDetails) }.count
        let inFlight = invocations.filter { $0.status == .inProgress }.count
        let pending = invocations.filter { $0.status == .pending || $0.status == .delayed }.map(\.instanceID)
        let window = DispatchPlan.make(concurrency: concurrency, maxErrors: command.maxErrors.errors(targets: targets),
                                       inFlight: inFlight, errors: errors, pending: pending, deliverable: deliverable)
        return DeliveryPlan(send: window.send, terminate: window.terminate, inFlightLimit: concurrency)
    }

    func summary(_ command: CommandRecord, _ invocations: [InvocationState]) -> CommandAggregate {
        CommandAggregate(
            invocations.map { CommandAggregate.Invocation(status: $0.status, details: $0.statusDetails, started: $0.startedAt != nil) },
            cancelRequested: command.cancelRequestedAt != nil
        )
    }
}
