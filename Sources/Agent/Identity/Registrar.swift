import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOHTTP1
import NIOSSL
import TenderWire
import X509

/// `tender-agent register`: pins the controller's CA by fingerprint, generates the
/// host key locally, and trades the activation plus a CSR for an identity.
public struct Registrar: Sendable {
    public struct Options: Sendable {
        public var controller: ControllerURL
        public var activationID: String
        public var activationCode: String
        public var caFingerprint: String
        public var name: String?
        public var force: Bool

        public init(controller: ControllerURL, activationID: String, activationCode: String, caFingerprint: String, name: String?, force: Bool) {
            self.controller = controller
            self.activationID = activationID
            self.activationCode = activationCode
            self.caFingerprint = caFingerprint
            self.name = name
            self.force = force
        }
    }

    let state: AgentStateDirectory
    let logger: Logger

    public init(state: AgentStateDirectory, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    public func register(_ options: Options) async throws -> AgentIdentity {
        let pin = try CertificateTools.normalizeFingerprint(options.caFingerprint)
        if state.isRegistered && !options.force {
            let existing = try? state.loadIdentity()
            throw TenderError(.alreadyRegistered, "this agent is already registered as \(existing?.instanceId ?? "an instance") (state dir \(state.url.path)); use --force to register it again")
        }
        let proxy = try ProxySettings.fromEnvironment(for: options.controller)
        // Make sure the identity can be stored before a registration is used up.
        do {
            try state.prepare()
            try SecureFile.write(Data(), to: state.url.appendingPathComponent(".write-test"), mode: 0o600)
            try? FileManager.default.removeItem(at: state.url.appendingPathComponent(".write-test"))
        } catch {
            throw TenderError(.validation, "cannot write the state dir \(state.url.path): \(error)")
        }

        // 1. Fetch the CA without trusting anything, then trust it only if it is the pinned one.
        var fetchTLS = TLSConfiguration.makeClientConfiguration()
        fetchTLS.certificateVerification = .none
        let fetched = try await ControllerClient(controller: options.controller, proxy: proxy, tls: fetchTLS).request(method: .GET, path: AgentPaths.caCertificate)
        guard fetched.status == .ok, let caPEM = String(data: fetched.body, encoding: .utf8), let ca = try? Certificate(pemEncoded: caPEM) else {
            throw TenderError(.unavailable, "\(options.controller) did not serve a CA certificate (HTTP \(fetched.status.code)); is it a tender-controller agent listener?")
        }
        let actual = try CertificateTools.fingerprint(ca)
        guard actual == pin else {
            throw TenderError(.caFingerprintMismatch, "the controller's CA fingerprint is \(actual), but --ca-fingerprint says \(pin); refusing to register (wrong controller, or someone in between)")
        }

        // 2. Register over TLS verified against the pinned CA.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try CertificateTools.nioCertificate(ca)])
        // The only trust root is the pinned fleet CA, and it gives the serverAuth usage
        // only to the controller (agents' certificates are clientAuth only), so the
        // chain proves it is the controller whatever address the agent dialled:
        // an IP, a load balancer's name, or through a proxy.
        tls.certificateVerification = .noHostnameVerification
        let key = P256.Signing.PrivateKey()
        let host = HostInfo.current()
        let request = RegistrationRequest(
            activationId: options.activationID,
            activationCode: options.activationCode,
            csr: try CertificateTools.makeCSR(key: key, commonName: host.hostname.isEmpty ? "tender-agent" : host.hostname),
            name: options.name,
            hostname: host.hostname
        )
        let result = try await ControllerClient(controller: options.controller, proxy: proxy, tls: tls)
            .request(method: .POST, path: AgentPaths.register, body: try JSON.encoder().encode(request))
        guard result.status == .ok else {
            if let error = try? JSONDecoder().decode(ErrorResponse.self, from: result.body) {
                throw error.tenderError
            }
            throw TenderError(.unavailable, "registration failed with HTTP \(result.status.code)")
        }
        let response = try JSON.decode(RegistrationResponse.self, from: result.body, what: "registration response")
        let certificate = try Certificate(pemEncoded: response.certificate)
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey),
              CertificateTools.instanceID(of: certificate) == response.instanceId else {
            throw TenderError(.internalError, "the controller returned a certificate that does not match this agent's key or instance id")
        }
        let identity = AgentIdentity(instanceId: response.instanceId, controller: options.controller.description, caFingerprint: pin, registeredAt: Date())
        if options.force { try state.clear() }
        try state.save(identity: identity, key: key, certificatePEM: response.certificate, caPEM: caPEM)
        logger.info("registered", metadata: ["instance": "\(response.instanceId)", "stateDir": "\(state.url.path)"])
        return identity
    }
}
