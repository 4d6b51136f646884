import ArgumentParser
import Foundation
import StacRepository

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print one product's stored JSON, byte for byte (at --ref, or the current version).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The product id (PARENT-ID/ID when an id is used more than once; the root catalog's id too).")
    var id: String

    @Option(help: "The version to read (commit id, HEAD~N, branch or tag; git backend).")
    var ref: String?

    func run() async throws {
        let repository = try global.openRepository()
        // The stored bytes are already JSON: --json changes nothing.
        FileHandle.standardOutput.write(Data(try repository.show(id, ref: ref)))
    }
}
