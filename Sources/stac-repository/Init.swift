public import ArgumentParser
import Foundation
import STAC
public import StacRepository

extension BackendKind: ExpressibleByArgument {}
extension AssetMode: ExpressibleByArgument {}
extension AssetErrorPolicy: ExpressibleByArgument {}
extension ExportAssetMode: ExpressibleByArgument {}
extension ExportFormat: ExpressibleByArgument {}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a repository (in --repository PATH, DIRECTORY, or the current directory).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The directory to create the repository in (default: --repository or the current directory).")
    var directory: String?

    @Option(help: "The storage backend: git (history, rollback, backups) or file (plain files).")
    var backend: BackendKind = .git

    @Option(help: "The branch that holds the catalog (git backend).")
    var branch = "main"

    @Option(help: "A catalog.json to use as the root catalog.")
    var rootCatalog: String?

    @Option(help: "The root catalog's id (default: the directory name).")
    var id: String?

    @Option(help: "The root catalog's title.")
    var title: String?

    @Option(help: "The root catalog's description.")
    var description: String?

    @Option(help: "The root catalog's license (SPDX id).")
    var license: String?

    @Flag(help: "Allow creating a repository inside another repository's directory.")
    var nested = false

    func validate() throws {
        if rootCatalog != nil, id != nil || title != nil || description != nil || license != nil {
            throw ValidationError("Pass either --root-catalog or --id/--title/--description/--license, not both.")
        }
    }

    func run() async throws {
        global.bootstrapLogging()
        let url = directory.map { URL(fileURLWithPath: $0) } ?? global.repositoryURL
        let catalog: JSONValue
        if let rootCatalog {
            guard let data = FileManager.default.contents(atPath: rootCatalog) else {
                throw StacRepositoryError(.notFound, "The root catalog \(rootCatalog) does not exist; check the path.")
            }
            do {
                catalog = try JSONValue.parse(data, source: rootCatalog)
            } catch {
                throw StacRepositoryError(.invalidInput, "\(error) Fix the JSON and run init again.")
            }
        } else {
            let defaultID = url.standardizedFileURL.lastPathComponent
            var id = self.id
            var title = self.title
            var description = self.description
            if Output.stdinIsTerminal && !global.quiet {
                id = id ?? prompt("Catalog id", default: defaultID)
                title = title ?? prompt("Title", default: "")
                description = description ?? prompt("Description", default: "A STAC catalog kept by stac-repository.")
            }
            catalog = Repository.makeRootCatalog(
                id: id ?? defaultID, title: title.flatMap { $0.isEmpty ? nil : $0 },
                description: description ?? "A STAC catalog kept by stac-repository.", license: license)
        }
        let repository = try Repository.create(
            at: url, options: .init(backend: backend, branch: branch, rootCatalog: catalog, nested: nested))
        if global.json {
            try Output.json(["path": repository.root.path, "backend": backend.rawValue])
        } else {
            Output.line("Initialized a \(backend.rawValue) repository in \(repository.root.path)")
        }
    }

    private func prompt(_ label: String, default value: String) -> String {
        FileHandle.standardError.write(Data("\(label)\(value.isEmpty ? "" : " [\(value)]"): ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces) ?? ""
        return answer.isEmpty ? value : answer
    }
}
