import NIOCore
import NIOSSL

/// The TLS settings both listeners share.
enum ListenerTLS {
    /// TLS 1.2 suites offered: forward-secret key exchange (ECDHE) and AEAD ciphers
    /// only, no CBC or SHA-1. The server key is P-256 ECDSA, so the ECDSA suites are
    /// the ones used; the RSA ones only keep a future RSA key working. TLS 1.3 has
    /// its own (all AEAD) suites, which this does not touch.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// TLS 1.2 or newer with `tls12CipherSuites`, and a bounded close: a peer that does
    /// not answer close_notify must not hold the connection (and a restart) for long.
    static func serverConfiguration(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = tls12CipherSuites
        configuration.shutdownTimeout = .seconds(1)
        return configuration
    }
}
