import Foundation
import Logging
import Shared
import X509

/// Trades an activation and a CSR for an instance id and a client certificate.
public struct RegistrationService: Sendable {
    let store: any Store
    let ca: CertificateAuthority
    let throttle: RegistrationThrottle
    let logger: Logger

    public init(store: any Store, ca: CertificateAuthority, throttle: RegistrationThrottle, logger: Logger) {
        self.store = store
        self.ca = ca
        self.throttle = throttle
        self.logger = logger
    }

    public func register(_ request: RegistrationRequest, peer: String, now: Date = Date()) async throws -> RegistrationResponse {
        // Ids are UUIDs: anything else is refused before it reaches the throttle's
        // memory or the database.
        guard UUID(uuidString: request.activationId) != nil else {
            throw TenderError.validation("activationId '\(request.activationId.prefix(40))' is not an activation id")
        }
        guard request.activationCode.count <= 256, request.csr.count <= 16 * 1024 else {
            throw TenderError.validation("activation code or CSR is implausibly long")
        }
        let keys = ["activation:" + request.activationId.lowercased(), "peer:" + peer]
        if let wait = throttle.retryAfter(keys: keys, now: now) {
            throw TenderError(.tooManyAttempts, "too many failed registration attempts; try again in \(Int(wait.rounded(.up))) seconds")
        }
        if let name = request.name { try InstanceService.validateName(name) }

        guard let activation = try await store.activation(id: request.activationId.lowercased()) else {
            throttle.recordFailure(keys: keys, now: now)
            throw TenderError(.activationNotFound, "activation \(request.activationId) does not exist")
        }
        // Compare the code before saying anything else about the activation, so a
        // guesser learns nothing about it without the code.
        guard SecretHash.constantTimeEquals(SecretHash.hash(request.activationCode), activation.codeHash) else {
            throttle.recordFailure(keys: keys, now: now)
            logger.warning("registration refused: wrong activation code", metadata: ["activation": "\(request.activationId)", "peer": "\(peer)"])
            throw TenderError(.invalidActivationCode, "the activation code is not valid for activation \(request.activationId)")
        }

        let instanceID = Identifiers.newInstanceID()
        let certificate = try ca.issueClientCertificate(csrPEM: request.csr, instanceID: instanceID, now: now)
        // The hostname is the agent's word, not validated like a given name: use it only if it would pass.
        let hostname = request.hostname.flatMap { (try? InstanceService.validateName($0)) != nil ? $0 : nil }
        let name = request.name ?? activation.defaultInstanceName ?? hostname ?? instanceID
        let record = InstanceRecord(
            id: instanceID, name: name, activationID: activation.id, registeredAt: now,
            certificateSerial: certificate.serialNumber.description,
            certificateNotAfter: certificate.notValidAfter,
            hostname: request.hostname.map { String($0.prefix(255)) }, tags: activation.tags
        )
        try await store.registerInstance(record, activationID: activation.id, now: now)
        throttle.recordSuccess(keys: keys)
        logger.notice("instance registered", metadata: ["instance": "\(instanceID)", "activation": "\(activation.id)", "peer": "\(peer)"])
        return RegistrationResponse(
            instanceId: instanceID,
            certificate: try CertificateTools.pem(certificate),
            caCertificate: try CertificateTools.pem(ca.certificate)
        )
    }
}
