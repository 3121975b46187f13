// swift-tools-version:6.0
import Foundation
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
        // The only code that runs between fork and execve (and the tree's init).
        .target(name: "CLaunch"),
        // Parent-side system helpers: epoll, pty, sd_notify, memfd, Landlock rulesets.
        .target(name: "CSys"),

        // What every module shares and nothing else: the error protocol, the
        // secret-name rule, string escaping, the monotonic clock. Imports only the standard library and libc.
        .target(name: "Common"),
        .target(name: "Age", dependencies: ["Common", "CSodium"]),
        .target(name: "Vault", dependencies: ["Common", "Age"]),
        // Users and groups from /etc/passwd, /etc/group and getent: no NSS in a static binary.
        .target(name: "Accounts", dependencies: ["Common"]),
        .target(name: "Profile", dependencies: ["Common", "TOMLKit", "Vault", "Accounts"]),
        .target(name: "Hygiene", dependencies: ["Vault", "Profile"]),
        .target(name: "Launch", dependencies: ["Common", "Vault", "Profile", "Accounts", "CLaunch", "CSys", "CSeccomp"]),
        .target(name: "Supervisor", dependencies: ["Common", "Age", "Launch", "Vault", "CLaunch", "CSys",
                                                   .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "run-with-keys",
            dependencies: [
                "Common", "Age", "Vault", "Profile", "Hygiene", "Launch", "Supervisor", "CLaunch", "CSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [
                // Resolve every symbol at start-up: the lazy-binding trampoline spills
                // vector registers (which may hold secret bytes being compared) to the stack.
                .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"]),
            ]),
    ]
)

// The tests, and the zlib they need for the compressed CCTV vectors, where the
// checkout has them: the example Dockerfile's build context carries Sources/ and
// no tests (.dockerignore), and SwiftPM refuses a manifest whose targets' directories
// are missing.
if FileManager.default.fileExists(atPath: Context.packageDirectory + "/Tests") {
    package.targets += [
        .systemLibrary(name: "CZlib", path: "Tests/CZlib", pkgConfig: "zlib"),
        .testTarget(name: "AgeTests", dependencies: ["Age", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "VaultTests", dependencies: ["Common", "Vault", "Age"]),
        .testTarget(name: "ProfileTests", dependencies: ["Profile"]),
        .testTarget(name: "HygieneTests", dependencies: ["Hygiene", "Vault", "Profile", "Age"]),
        .testTarget(name: "LaunchTests", dependencies: ["Launch", "Profile", "Vault", "Accounts", "CLaunch", "CSys", "CSeccomp"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "Launch", "Age"]),
    ]
}

// A member is visible only through the module that declares it, so a call like
// `String.range(of:)` can't silently bind to Foundation (and link ICU) through
// a dependency's public `import Foundation`.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("MemberImportVisibility")]
}
