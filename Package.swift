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
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // What both sides speak. Kept light: the agent links it on every managed host.
        .target(
            name: "Shared",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Controller",
            dependencies: [
                "Shared",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("API/openapi.json")]
        ),
        // The agent library depends on Shared only (see docs/architecture.md).
        .target(
            name: "Agent",
            dependencies: [
                "Shared",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Fleet-scale benchmarks: simulated agents over real mutual TLS against a real
        // controller process. Links Agent only for its reconnect policy.
        .target(
            name: "Bench",
            dependencies: [
                "Shared",
                "Agent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "tender-bench",
            dependencies: ["Bench", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "tender-controller",
            dependencies: ["Controller", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "tender-agent",
            dependencies: ["Agent", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "tender",
            dependencies: [
                "Shared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "SharedTests", dependencies: ["Shared"]),
        .testTarget(
            name: "ControllerTests",
            dependencies: ["Controller", "Shared", .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates")]
        ),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Shared", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Shared",
                .target(name: "tender-controller"),
                .target(name: "tender-agent"),
                .target(name: "tender"),
                .target(name: "tender-bench"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
