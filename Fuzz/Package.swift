// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses for what arrives from outside: payloads, topics and configuration text.
// A package of its own so that the main package's builds never see `-sanitize=fuzzer` (without it, these
// executables have no `main`). Build and run them with `scripts/fuzz [SECONDS]`.
let harnesses = [
    // PayloadDecoder: plain numbers, JSON objects and arrays, SenML.
    ("fuzz-payload", "StoreyCore"),
    // ReadingBinder: a topic and a payload → readings of the topology's points, or refusals.
    ("fuzz-topic", "StoreyCore"),
    // ConfigurationLoader: YAML text → configuration, or errors naming file, line and field.
    ("fuzz-config", "StoreyConfig"),
]

let package = Package(
    name: "StoreyFuzz",
    dependencies: [.package(name: "Storey", path: "..")],
    targets: [.target(name: "CFuzzerDriver")] + harnesses.map { name, product in
        .executableTarget(name: name, dependencies: ["CFuzzerDriver", .product(name: product, package: "Storey")])
    }
)
