import Foundation
import Logging
import Shared

/// What agents report about their work: start notices and results. A result is
/// stored once (a repeated one finds the invocation already finished and changes
/// nothing) and always confirmed, so the agent can drop it from its spool.
struct InvocationReports: Sendable {
    let store: any Store
    let outputs: OutputStore
    let dispatcher: Dispatcher
    let logger: Logger

    /// Splits `<commandId>_<instanceId>` and checks the instance part is the sender:
    /// an agent may only report on its own invocations.
    func parse(_ invocationID: String, from instanceID: String) -> String? {
        guard invocationID.hasSuffix("_" + instanceID) else { return nil }
        let commandID = String(invocationID.dropLast(instanceID.count + 1))
        return UUID(uuidString: commandID) != nil ? commandID : nil
    }

    func started(_ ref: InvocationRef, instanceID: String, now: Date = Date()) async {
        guard let commandID = parse(ref.invocationId, from: instanceID) else { return }
        do {
            _ = try await store.transitionInvocation(commandID: commandID, instanceID: instanceID, InvocationTransition(
                from: [.pending, .delayed, .inProgress], to: .inProgress, details: StatusDetails.inProgress, startedAt: now), at: now)
            await dispatcher.kick(commandID: commandID, now: now)
        } catch {
            logger.error("could not record an invocation start", metadata: ["invocation": "\(ref.invocationId)", "error": "\(error)"])
        }
    }

    func progress(_ progress: InvocationProgress, instanceID: String, now: Date = Date()) async {
        guard let commandID = parse(progress.invocationId, from: instanceID) else { return }
        let stdout = OutputLimits.inline(progress.stdout, limit: OutputLimits.inlineStdout + OutputLimits.truncationMarker.count).text
        let stderr = OutputLimits.inline(progress.stderr, limit: OutputLimits.inlineStderr + OutputLimits.truncationMarker.count).text
        do {
            try await store.updateRunningOutput(commandID: commandID, instanceID: instanceID, stdout: stdout, stderr: stderr, at: now)
        } catch {
            logger.debug("could not store progress", metadata: ["invocation": "\(progress.invocationId)", "error": "\(error)"])
        }
    }

    /// Stores the result; returns whether the agent may forget it (stored now or before).
    func result(_ result: InvocationResult, instanceID: String, now: Date = Date()) async -> Bool {
        guard let commandID = parse(result.invocationId, from: instanceID) else {
            logger.warning("agent reported a result for an invocation that is not its own", metadata: ["instance": "\(instanceID)", "invocation": "\(result.invocationId.prefix(80))"])
            return true
        }
        guard result.status.isTerminal else { return false }
        do {
            guard let current = try await store.invocation(commandID: commandID, instanceID: instanceID) else { return true }
            if current.status.isTerminal { return true }
            let stdout = result.fullStdout.flatMap { Data(base64Encoded: $0) } ?? Data(result.stdout.utf8)
            let stderr = result.fullStderr.flatMap { Data(base64Encoded: $0) } ?? Data(result.stderr.utf8)
            let blob = try outputs.store(commandID: commandID, instanceID: instanceID, stdout: stdout, stderr: stderr)
            // Inline output is cut here too: the agent's word on limits is not trusted.
            let inlineOut = OutputLimits.inline(result.stdout, limit: OutputLimits.inlineStdout + OutputLimits.truncationMarker.count).text
            let inlineErr = OutputLimits.inline(result.stderr, limit: OutputLimits.inlineStderr + OutputLimits.truncationMarker.count).text
            _ = try await store.transitionInvocation(commandID: commandID, instanceID: instanceID, InvocationTransition(
                from: [.pending, .delayed, .inProgress, .cancelling], to: result.status, details: result.statusDetails,
                responseCode: result.responseCode, stdout: inlineOut, stderr: inlineErr, outputBlob: blob,
                startedAt: result.startedAt ?? now, endedAt: result.endedAt), at: now)
            await dispatcher.kick(commandID: commandID, now: now)
            return true
        } catch {
            logger.error("could not store a result; the agent will send it again", metadata: ["invocation": "\(result.invocationId)", "error": "\(error)"])
            return false
        }
    }
}
