// swift-tools-version: 6.1
import PackageDescription

// The data flows one way, and the targets say so:
//   CMosquitto → StoreyIntake (MQTT) → StoreyCore (decode, aggregate: pure) → StoreyStore (SQLite)
//   StoreyConfig loads the topology; StoreyDaemon wires every stage into one ServiceGroup.
let package = Package(
    name: "Storey",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "storeyd", targets: ["storeyd"]),
        .executable(name: "storey", targets: ["storey"]),
        // For the libFuzzer harnesses in Fuzz/, a package of their own that depends on this one by path.
        .library(name: "StoreyCore", targets: ["StoreyCore"]),
        .library(name: "StoreyConfig", targets: ["StoreyConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    ],
    targets: [
        // libmosquitto, Debian's libmosquitto-dev. Only StoreyIntake imports it.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // libcurl, Debian's libcurl4-openssl-dev: SMTP (STARTTLS, implicit TLS, AUTH) for email delivery.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // glibc's malloc.h (malloc_trim), which the Glibc module does not export.
        .systemLibrary(name: "CMalloc"),
        // fallocate(2), for the intake journal's reserved space.
        .systemLibrary(name: "CFileSpace"),
        // The domain: topology, readings, payload decoding, counters, windows, aggregation. No I/O.
        .target(name: "StoreyCore"),
        // YAML configuration → topology and daemon settings, with errors that name file, line and field.
        // It reads libyaml's events through Yams' CYaml module (YAMLDocument.swift), not Yams' node tree.
        .target(
            name: "StoreyConfig",
            dependencies: ["StoreyCore", "StoreyDelivery", .product(name: "Yams", package: "Yams")]
        ),
        // Alert delivery from the outbox: routing, grouping, time intervals, retries and rendering as
        // values; webhooks (async-http-client) and email (libcurl) as thin senders.
        .target(
            name: "StoreyDelivery",
            dependencies: [
                "StoreyCore", "StoreyStore", "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // MQTT intake over libmosquitto: connection state machine, own poll() loop, batched hand-off.
        .target(
            name: "StoreyIntake",
            dependencies: ["CMosquitto", "CFileSpace", .product(name: "Logging", package: "swift-log")]
        ),
        // Storage on SQLite (GRDB): raw readings, window figures, migrations.
        .target(
            name: "StoreyStore",
            dependencies: [
                "StoreyCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // Storage on PostgreSQL (postgres-nio), the second backend: the same steps as StoreyStore's SQLite
        // stores, for several instances sharing one estate (claims with FOR UPDATE SKIP LOCKED).
        .target(
            name: "StoreyPostgres",
            dependencies: [
                "StoreyCore", "StoreyStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The operator's view, read-only over the store: bearer tokens, the JSON API under /api/v1 (topology,
        // live state, series, reports), the Server-Sent Events stream, the dashboard and the OpenAPI
        // document (both kept as resource files). Apart from the daemon so it is tested without MQTT.
        .target(
            name: "StoreyAPI",
            dependencies: [
                "StoreyCore", "StoreyConfig", "StoreyStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/dashboard"), .copy("Resources/openapi.yaml")]
        ),
        // The daemon: services, HTTP, metrics, systemd notification, signals.
        .target(
            name: "StoreyDaemon",
            dependencies: [
                "StoreyCore", "StoreyConfig", "StoreyIntake", "StoreyStore", "StoreyPostgres", "StoreyAPI", "StoreyDelivery", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "storeyd",
            dependencies: ["StoreyDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The simulated tower: what each kind of tenant does at a given local time, and sensor faults. No I/O.
        .target(
            name: "StoreySimulation",
            dependencies: ["StoreyCore", .product(name: "Yams", package: "Yams")]
        ),
        // Recorded CSV → timed readings for `storey replay`: column-to-point mapping, timestamps, time shift.
        .target(
            name: "StoreyReplay",
            dependencies: ["StoreyCore", .product(name: "CSV", package: "CSV.swift")]
        ),
        .executableTarget(
            name: "storey",
            dependencies: [
                "StoreyCore", "StoreyConfig", "StoreyIntake", "StoreyStore", "StoreyDaemon", "StoreySimulation", "StoreyReplay", "StoreyDelivery",
                "StoreyPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmark load generator (benchmarks/intake.sh).
        .executableTarget(
            name: "storey-loadgen",
            dependencies: ["StoreyIntake", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "benchmarks/LoadGenerator"
        ),
        // The reading stores side by side: SQLite and PostgreSQL (benchmarks/stores.sh).
        .executableTarget(
            name: "storey-bench-stores",
            dependencies: ["StoreyCore", "StoreyStore", "StoreyPostgres", .product(name: "Logging", package: "swift-log")],
            path: "benchmarks/StoreBackends"
        ),
        // Rule evaluation benchmark (benchmarks/README.md).
        .executableTarget(name: "storey-bench-rules", dependencies: ["StoreyCore"], path: "benchmarks/RuleEvaluation"),
        // Real servers for tests: a private mosquitto per test, throwaway certificates, free ports.
        .target(
            name: "StoreyTestSupport",
            dependencies: ["StoreyIntake", "StoreyStore", "StoreyPostgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/StoreyTestSupport",
            exclude: ["Servers"]
        ),
        .testTarget(name: "StoreyCoreTests", dependencies: ["StoreyCore"]),
        .testTarget(name: "StoreyConfigTests", dependencies: ["StoreyCore", "StoreyConfig", "StoreyStore", "StoreyTestSupport"]),
        .testTarget(
            name: "StoreyStoreTests",
            dependencies: [
                "StoreyCore", "StoreyStore", "StoreyPostgres", "StoreyTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(name: "StoreySimulationTests", dependencies: ["StoreyCore", "StoreyConfig", "StoreySimulation"]),
        .testTarget(name: "StoreyReplayTests", dependencies: ["StoreyCore", "StoreyReplay", "StoreyTestSupport"]),
        .testTarget(name: "StoreyIntakeTests", dependencies: ["StoreyIntake", "StoreyTestSupport"]),
        .testTarget(
            name: "StoreyAPITests",
            dependencies: [
                "StoreyCore", "StoreyConfig", "StoreyStore", "StoreyAPI", "StoreyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                // The daemon's underuse monitor as the alert desk (AlertDeskTests).
                "StoreyDaemon", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "StoreyIntegrationTests",
            dependencies: ["StoreyCore", "StoreyConfig", "StoreyStore", "StoreyDaemon", "StoreyTestSupport", "StoreyPostgres"]
        ),
        // The packaged service under a real systemd (systemd-nspawn): needs root; builds the release .deb.
        .testTarget(name: "StoreySystemTests", dependencies: ["StoreyTestSupport"], exclude: ["Container"]),
        .testTarget(
            name: "StoreyDeliveryTests",
            dependencies: [
                "StoreyCore", "StoreyStore", "StoreyDelivery", "StoreyConfig", "StoreyTestSupport", "StoreyPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)
