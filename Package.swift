// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "stac-repository",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stac-repository", targets: ["stac-repository"]),
        .library(name: "StacRepository", targets: ["StacRepository"]),
        .library(name: "STAC", targets: ["STAC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "STAC", swiftSettings: swiftSettings),
        .target(
            name: "Git",
            dependencies: [
                "CLibGit2",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "AssetTransfer",
            dependencies: [
                "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "StacRepository",
            dependencies: [
                "STAC", "Git", "AssetTransfer",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "GeoTIFFProcessor",
            dependencies: ["StacRepository", "STAC", .product(name: "Logging", package: "swift-log")],
            path: "Processors/GeoTIFF",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "stac-repository",
            dependencies: [
                "StacRepository", "STAC", "GeoTIFFProcessor", "AssetTransfer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Test-only helpers shared by the test targets (the off-pool executor and trait).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "STACTests", dependencies: ["STAC", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "GitTests", dependencies: ["Git", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AssetTransferTests",
            dependencies: [
                "AssetTransfer", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "StacRepositoryTests",
            dependencies: ["StacRepository", "STAC", "Git", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GeoTIFFProcessorTests",
            dependencies: [
                "GeoTIFFProcessor", "StacRepository", "STAC", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
    ]
)
