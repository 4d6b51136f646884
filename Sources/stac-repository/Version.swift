import ArgumentParser
import Foundation
import StacRepository

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        if global.json { try Output.json(["version": StacRepositoryVersion.current]); return }
        print("stac-repository \(StacRepositoryVersion.current)")
    }
}
