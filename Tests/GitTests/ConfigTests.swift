import Foundation
import Git
import TestSupport
import Testing

@Suite(.offPool) struct ConfigTests {
    @Test func settingsGoToTheRepositoryConfigAndGitReadsThem() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        #expect(try repository.config("stac-repository.backend") == nil)
        try repository.setConfig("stac-repository.backend", "git")
        try repository.setConfig("stac-repository.assets", "copy")
        try repository.setConfig("stac-repository.layout.sentinel-2", "${year}/${month}")
        #expect(try repository.config("stac-repository.backend") == "git")
        #expect(try repository.config("STAC-REPOSITORY.Backend") == "git")
        let entries = try repository.configEntries(withPrefix: "stac-repository.")
        #expect(
            entries.map(\.name) == [
                "stac-repository.backend", "stac-repository.assets", "stac-repository.layout.sentinel-2",
            ])
        #expect(entries.map(\.value) == ["git", "copy", "${year}/${month}"])
        let cli = try await scratch.git(["config", "--local", "--get", "stac-repository.layout.sentinel-2"], in: url)
        #expect(cli.stdout == "${year}/${month}\n")

        try repository.removeConfig("stac-repository.assets")
        try repository.removeConfig("stac-repository.assets")
        #expect(try repository.config("stac-repository.assets") == nil)
        expectGitError(.invalidSpec) { try repository.setConfig("no-section", "x") }
    }
}
