import Foundation
import Logging
import TenderAPI
import TenderWire
import X509

/// Trades an activation and a CSR for an instance id and a client certificate.
public struct RegistrationService: Sendable {
    /// The one answer for an unknown activation id and for a wrong code, so a guesser
    /// cannot tell which activation ids exist.
    static let notValid = TenderError(.invalidActivationCode, "activation id or code is not valid")
    /// Longest instance name a registrant may choose (as InstanceService.validateName); longer is cut.
    static let maxNameLength = 128
    /// Longest hostname kept, as for what an agent reports in its hello.
    static let maxHostnameLength = 255

    let store: any ActivationStore & InstanceStore
    let ca: CertificateAuthority
    let throttle: RegistrationThrottle
    let logger: Logger

    public init(store: any ActivationStore & InstanceStore, ca: CertificateAuthority, throttle: RegistrationThrottle, logger: Logger) {
        self.store = store
        self.ca = ca
        self.throttle = throttle
        self.logger = logger
    }

    public func register(_ request: RegistrationRequest, peer: String, now: Date = Date()) async throws -> RegistrationResponse {
        // Ids are UUIDs: anything else is refused before it reaches the throttle's
        // memory or the database.
        guard UUID(uuidString: request.activationId) != nil else {
            throw TenderError.validation("activationId '\(DisplayText.clean(request.activationId, limit: 40))' is not an activation id")
        }
        guard request.activationCode.count <= 256, request.csr.count <= 16 * 1024 else {
            throw TenderError.validation("activation code or CSR is implausibly long")
        }
        let activationID = request.activationId.lowercased()
        let chosenName = try Self.chosenName(request.name)
        let hostname = request.hostname.map { DisplayText.clean($0, limit: Self.maxHostnameLength) }.flatMap { $0.isEmpty ? nil : $0 }

        let keys = ["activation:" + activationID, "peer:" + peer]
        if let wait = throttle.blocked(keys: keys, now: now) { throw Self.tooManyAttempts(wait) }
        let response = try await register(request, activationID: activationID, keys: keys, name: chosenName, hostname: hostname, peer: peer, now: now)
        throttle.recordSuccess(keys: keys)
        return response
    }

    static func tooManyAttempts(_ wait: TimeInterval) -> TenderError {
        TenderError(.tooManyAttempts, "too many failed registration attempts; try again in \(Int(wait.rounded(.up))) seconds")
    }

    private func register(_ request: RegistrationRequest, activationID: String, keys: [String], name chosenName: String?, hostname: String?,
                          peer: String, now: Date) async throws -> RegistrationResponse {
        let codeHash = SecretHash.hash(request.activationCode)
        let activation = try await store.activation(id: activationID)
        // Compare the code before saying anything else about the activation (even
        // whether it exists), so a guesser learns nothing about it without the code.
        // Check, comparison and count are one step, after the wait for the database.
        switch throttle.attempt(keys: keys, now: now, isRight: { activation.map { SecretHash.constantTimeEquals(codeHash, $0.codeHash) } ?? false }) {
        case .blocked(let wait):
            throw Self.tooManyAttempts(wait)
        case .wrong:
            logger.warning("registration refused: \(activation == nil ? "unknown activation" : "wrong activation code")",
                           metadata: ["activation": "\(activationID)", "peer": "\(peer)"])
            throw Self.notValid
        case .right:
            break
        }
        guard let activation else { throw Self.notValid }

        let instanceID = Identifiers.newInstanceID()
        let certificate = try ca.issueClientCertificate(csrPEM: request.csr, instanceID: instanceID, now: now)
        // The hostname is the agent's word, not a chosen name: use it as one only if it would pass.
        let hostnameAsName = hostname.flatMap { (try? InstanceService.validateName($0)) != nil ? $0 : nil }
        let name = chosenName ?? activation.defaultInstanceName ?? hostnameAsName ?? instanceID
        let record = InstanceRecord(
            id: instanceID, name: name, activationID: activation.id, registeredAt: now,
            certificateSerial: certificate.serialNumber.description,
            certificateNotAfter: certificate.notValidAfter,
            hostname: hostname, tags: activation.tags
        )
        try await store.registerInstance(record, activationID: activation.id, now: now)
        logger.notice("instance registered", metadata: ["instance": "\(instanceID)", "activation": "\(activation.id)", "peer": "\(peer)"])
        return RegistrationResponse(
            instanceId: instanceID,
            certificate: try CertificateTools.pem(certificate),
            caCertificate: try CertificateTools.pem(ca.certificate)
        )
    }

    /// The registrant's `--name`, cleaned of controls and cut to the name limit;
    /// nil (the activation's default, then the hostname, then the id) if nothing is left.
    static func chosenName(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let cleaned = DisplayText.clean(raw, limit: maxNameLength).trimmingCharacters(in: .whitespaces)
        guard !cleaned.isEmpty else { return nil }
        try InstanceService.validateName(cleaned)
        return cleaned
    }
}
