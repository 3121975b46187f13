// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "run-with-keys",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "run-with-keys", targets: ["run-with-keys"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        // C libraries. Only Age/Crypto (and SecretBytes in Vault) touch CSodium;
        // only Launch touches CSeccomp.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        // The only code that runs between fork and execve.
        .target(name: "CLaunch"),

        // What every module shares and nothing else: the error protocol, the
        // secret-name rule, string escaping. Imports only the standard library.
        .target(name: "Common"),
        .target(name: "Age", dependencies: ["Common", "CSodium"]),
        .target(name: "Vault", dependencies: ["Common", "Age"]),
        .target(name: "Profile", dependencies: ["Common", "TOMLKit", "Vault"]),
        .target(name: "Hygiene", dependencies: ["Vault", "Profile"]),
        .target(name: "Launch", dependencies: ["Common", "Vault", "Profile", "CLaunch", "CSeccomp"]),
        .target(name: "Supervisor", dependencies: ["Age", "Launch", "Vault", "CLaunch",
                                                   .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "run-with-keys",
            dependencies: [
                "Common", "Age", "Vault", "Profile", "Hygiene", "Launch", "Supervisor", "CLaunch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [
                // Resolve every symbol at start-up: the lazy-binding trampoline spills
                // vector registers (which may hold secret bytes being compared) to the stack.
                .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"]),
            ]),

        // zlib, for inflating the compressed CCTV vectors in tests only.
        .systemLibrary(name: "CZlib", path: "Tests/CZlib", pkgConfig: "zlib"),
        .testTarget(name: "AgeTests", dependencies: ["Age", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "VaultTests", dependencies: ["Common", "Vault", "Age"]),
        .testTarget(name: "ProfileTests", dependencies: ["Profile"]),
        .testTarget(name: "HygieneTests", dependencies: ["Hygiene", "Vault", "Profile", "Age"]),
        .testTarget(name: "LaunchTests", dependencies: ["Launch", "Profile", "Vault"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "Launch", "Age"]),
    ]
)
