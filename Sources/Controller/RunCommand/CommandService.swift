import Foundation
import TenderAPI
import TenderWire

/// Run Command for operators: checks the document and parameters, resolves the
/// targets, stores the command with one invocation per instance (before anything
/// is sent) and lets the dispatcher take it from there.
public struct CommandService: Sendable {
    let store: any CommandStore & InstanceStore
    let documents: DocumentService
    let dispatcher: Dispatcher
    let outputs: OutputStore
    /// Per-instance steps for patch runs (nil: documents with a patch step are refused).
    let patchRuns: PatchRunVariants?

    init(store: any CommandStore & InstanceStore, documents: DocumentService, dispatcher: Dispatcher, outputs: OutputStore, patchRuns: PatchRunVariants? = nil) {
        self.patchRuns = patchRuns
        self.store = store
        self.documents = documents
        self.dispatcher = dispatcher
        self.outputs = outputs
    }

    public func send(_ request: SendCommandRequest, by tokenID: String?, now: Date = Date()) async throws -> CommandInfo {
        guard !request.targets.isEmpty else { throw TenderError.validation("give at least one target (ids=…, tag:KEY=VALUE, tag-key=KEY or *)") }
        let filters = try request.targets.map(TargetFilter.init(parsing:))
        let concurrency = try RateLimit(parsing: request.maxConcurrency ?? SendCommandRequest.defaultMaxConcurrency, what: "maxConcurrency")
        let maxErrors = try RateLimit(parsing: request.maxErrors ?? SendCommandRequest.defaultMaxErrors, what: "maxErrors")
        let timeout = request.timeoutSeconds ?? SendCommandRequest.defaultTimeoutSeconds
        let timeoutRange = SendCommandRequest.timeoutRange
        guard timeoutRange.contains(timeout) else {
            throw TenderError.validation("timeout must be between \(timeoutRange.lowerBound) and \(timeoutRange.upperBound) seconds, got \(timeout)")
        }
        if let comment = request.comment, comment.count > 100 { throw TenderError.validation("comment is longer than 100 characters") }

        let (document, version, _) = try await documents.resolve(request.documentName, version: request.documentVersion)
        let steps = try document.resolvedSteps(parameters: request.parameters ?? [:])
        let instances = try await store.instances().filter { TargetFilter.allMatch(filters, instanceID: $0.id, tags: $0.tags) }
        guard !instances.isEmpty else {
            throw TenderError.validation("no registered instance matches the targets \(request.targets.joined(separator: " "))")
        }

        // A patch run: each instance gets the baseline resolved for it, as a step variant.
        var assignment: PatchRunVariants.Assignment?
        if PatchRunVariants.applies(to: steps) {
            guard let patchRuns else { throw TenderError(.unavailable, "patch runs are not available on this controller") }
            assignment = try await patchRuns.assign(steps, to: instances)
        }

        let id = UUID().uuidString.lowercased()
        let encoder = JSON.encoder()
        let command = CommandRecord(
            id: id, documentName: request.documentName, documentVersion: version,
            parametersJSON: String(decoding: try encoder.encode(try document.resolveParameters(request.parameters ?? [:])), as: UTF8.self),
            targetsJSON: String(decoding: try encoder.encode(request.targets), as: UTF8.self),
            stepsJSON: String(decoding: try encoder.encode(steps), as: UTF8.self),
            maxConcurrency: concurrency, maxErrors: maxErrors, deliveryTimeoutSeconds: timeout,
            comment: request.comment, createdAt: now, createdBy: tokenID, targetCount: instances.count,
            variantsJSON: try assignment.map { String(decoding: try encoder.encode($0.variants), as: UTF8.self) }
        )
        try RunMessageTemplate.checkFits(command, steps: steps)
        for (name, variantSteps) in assignment?.variants ?? [:] {
            try RunMessageTemplate.checkFits(command, steps: variantSteps, variant: name)
        }
        let invocations = instances.enumerated().map {
            InvocationRecord(commandID: id, instanceID: $1.id, position: $0, updatedAt: now, variant: assignment?.variantOf[$1.id])
        }
        try await store.insertCommand(command, invocations: invocations)
        await dispatcher.kick(commandID: id, now: now)
        // The summary only, as SSM's SendCommand answers: listing ten thousand fresh
        // invocations would slow the very fan-out it starts. `show` lists them.
        guard let sent = try await store.command(id: id) else { throw TenderError.notFound("command \(id) does not exist") }
        return Self.info(sent, invocations: nil)
    }

    public func list(limit: Int = 50) async throws -> [CommandInfo] {
        try await store.commands(limit: max(1, min(limit, 1000))).map { Self.info($0, invocations: nil) }
    }

    public func show(_ id: String) async throws -> CommandInfo {
        let command = try await runCommand(id)
        return Self.info(command, invocations: try await store.invocations(commandID: id))
    }

    public func cancel(_ id: String, now: Date = Date()) async throws -> CommandInfo {
        let command = try await runCommand(id)
        guard try await store.requestCancel(commandID: id, at: now) else {
            throw TenderError(.conflict, "command \(id) already finished (\(command.status.rawValue))")
        }
        await dispatcher.kick(commandID: id, now: now)
        return try await show(id)
    }

    /// The command with this id. Another capability's deliveries share the table but
    /// are not commands: operators reach them through their owner, never here.
    private func runCommand(_ id: String) async throws -> CommandRecord {
        guard let command = try await store.command(id: id), command.owner == .runCommand else {
            throw TenderError.notFound("command \(id) does not exist")
        }
        return command
    }

    /// Where the full output of one invocation is: a file (streamed from disk, never
    /// read whole) or, without one, the inline text of the row.
    public enum Output: Sendable {
        case file(URL, size: Int)
        case inline(Data)
    }

    /// The full output of one invocation (stdout or stderr), byte for byte.
    public func output(_ id: String, instanceID: String, stream: String) async throws -> Output {
        guard ["stdout", "stderr"].contains(stream) else { throw TenderError.validation("stream must be stdout or stderr") }
        _ = try await runCommand(id)
        guard let invocation = try await store.invocation(commandID: id, instanceID: instanceID) else {
            throw TenderError.notFound("command \(id) has no invocation on \(instanceID)")
        }
        if let (url, size) = try outputs.stored(commandID: id, instanceID: instanceID, stream: stream) { return .file(url, size: size) }
        return .inline(Data((stream == "stdout" ? invocation.stdout : invocation.stderr).utf8))
    }

    public func events(after seq: Int, limit: Int) async throws -> [EventInfo] {
        try await store.events(after: max(0, seq), limit: max(1, min(limit, 10_000))).map {
            EventInfo(seq: $0.seq, at: $0.at, commandId: $0.commandID, instanceId: $0.instanceID, status: $0.status, statusDetails: $0.statusDetails)
        }
    }

    static func info(_ c: CommandRecord, invocations: [InvocationRecord]?) -> CommandInfo {
        CommandInfo(
            commandId: c.id, documentName: c.documentName, documentVersion: c.documentVersion, status: c.status, statusDetails: c.statusDetails,
            targetCount: c.targetCount, completedCount: c.completedCount, errorCount: c.errorCount, deliveryTimedOutCount: c.deliveryTimedOutCount,
            maxConcurrency: c.maxConcurrency.description, maxErrors: c.maxErrors.description, timeoutSeconds: c.deliveryTimeoutSeconds,
            comment: c.comment, createdAt: c.createdAt, finishedAt: c.finishedAt,
            invocations: invocations?.map {
                InvocationInfo(instanceId: $0.instanceID, status: $0.status, statusDetails: $0.statusDetails, responseCode: $0.responseCode,
                               stdout: $0.stdout, stderr: $0.stderr, startedAt: $0.startedAt, endedAt: $0.endedAt,
                               payloads: $0.payloads.isEmpty ? nil : $0.payloads)
            }
        )
    }
}
