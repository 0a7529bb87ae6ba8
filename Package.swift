// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tender",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tender-controller", targets: ["tender-controller"]),
        .executable(name: "tender-agent", targets: ["tender-agent"]),
        .executable(name: "tender", targets: ["tender"]),
        .executable(name: "tender-bench", targets: ["tender-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // What the agent needs to speak and run: wire messages and codec, resolved steps
        // and their values, statuses, output limits, ids, the error type, certificate
        // helpers. The agent links it on every managed host, so it stays on
        // FoundationEssentials and names no YAML, API model, HTTP or SQL library.
        .target(
            name: "TenderWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The document language (parser, checker, interpolation): controller and CLI only.
        .target(
            name: "TenderDocuments",
            dependencies: ["TenderWire", .product(name: "Yams", package: "Yams")]
        ),
        // The operator API's models, targets and rate limits: controller, CLI and bench.
        .target(
            name: "TenderAPI",
            dependencies: ["TenderWire", "TenderDocuments", "TenderPatching"]
        ),
        // Patch baselines and their evaluation: pure code that the controller (to
        // validate and resolve baselines) and the agent (to decide each package's
        // state) both link. The wire module only; no YAML, no API models.
        .target(
            name: "TenderPatching",
            dependencies: ["TenderWire"]
        ),
        // Maintenance window schedules (cron, rate, at) and their next runs in an IANA
        // time zone: pure code the controller's scheduler and the CLI share.
        .target(name: "TenderSchedules"),
        .target(
            name: "Controller",
            dependencies: [
                "TenderWire", "TenderDocuments", "TenderAPI", "TenderPatching",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("API/openapi.json")]
        ),
        // glibc settings the Swift Glibc module does not expose (mallopt), for the agent.
        .target(name: "CAgentRuntime"),
        // The agent links the wire module and what it needs to run work, nothing of the
        // controller's stacks or the document language; EndToEndTests/AgentDependencyTests
        // checks the built binary for it.
        .target(
            name: "Agent",
            dependencies: [
                "TenderWire", "TenderPatching", "CAgentRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Debian and Rocky Linux package roots with local repositories, built in temp
        // directories: for the patch tests of the agent and of the whole product, and
        // for the agent-footprint bench's scans. Linked by neither the agent nor the controller.
        .target(
            name: "PatchSandbox",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // Fleet-scale benchmarks: simulated agents over real mutual TLS against a real
        // controller process. Links Agent only for its reconnect policy, PatchSandbox
        // for the roots agent-footprint scans.
        .target(
            name: "Bench",
            dependencies: [
                "TenderWire", "TenderAPI", "Agent", "PatchSandbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "tender-bench",
            dependencies: ["Bench", "TenderWire", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "tender-controller",
            dependencies: [
                "Controller", "TenderWire", "TenderAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "tender-agent",
            dependencies: [
                "Agent", "TenderWire",  // the agent executable
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "tender",
            dependencies: [
                "TenderWire", "TenderDocuments", "TenderAPI", "TenderPatching",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "TenderWireTests", dependencies: ["TenderWire"]),
        .testTarget(name: "TenderDocumentsTests", dependencies: ["TenderDocuments", "TenderWire"]),
        .testTarget(name: "TenderAPITests", dependencies: ["TenderAPI", "TenderWire"]),
        .testTarget(name: "TenderPatchingTests", dependencies: ["TenderPatching", "TenderWire"]),
        .testTarget(name: "TenderSchedulesTests", dependencies: ["TenderSchedules"]),
        .testTarget(
            name: "ControllerTests",
            dependencies: [
                "Controller", "TenderWire", "TenderDocuments", "TenderAPI", "TenderPatching",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "TenderWire", "TenderPatching", "PatchSandbox", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]
        ),
        // A real controller and a real agent in one process, for what needs code on
        // both sides (an extra step action with its runner).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Controller", "Agent", "TenderWire", "TenderDocuments", "TenderAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "PatchSandbox",
                .target(name: "tender-controller"),
                .target(name: "tender-agent"),
                .target(name: "tender"),
                .target(name: "tender-bench"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
