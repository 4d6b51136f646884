import ArgumentParser
import Foundation
import StacRepository

/// `ingest` options for STAC API searches, bucket prefixes and directory listings.
struct SourceArguments: ParsableArguments {
    @Option(help: "Take at most N items from a STAC API search or items endpoint (default: every page).")
    var maxItems: Int?

    @Option(help: "POST this JSON file to the search URL instead of a GET (a STAC API item search body).")
    var searchBody: String?

    @Flag(
        inversion: .prefixedNo,
        help:
            "Fetch each item's collection and ingest it first (default: on for STAC API sources and stdin, off otherwise)."
    )
    var withCollections: Bool?

    @Option(
        help: "Only objects of an s3:// prefix or http(s) listing whose path below it matches this glob (repeatable).")
    var include: [String] = []

    @Option(
        help: "Skip objects of an s3:// prefix or http(s) listing whose path below it matches this glob (repeatable).")
    var exclude: [String] = []

    @Option(help: .hidden)
    var listPageSize: Int?

    func validate() throws {
        if let maxItems, maxItems < 1 { throw ValidationError("--max-items must be at least 1.") }
        if let listPageSize, !(1...1000).contains(listPageSize) {
            throw ValidationError("--list-page-size must be between 1 and 1000.")
        }
    }

    func options(workingDirectory: String) throws -> SourceOptions {
        var options = SourceOptions()
        options.maxItems = maxItems
        options.withCollections = withCollections
        options.include = include
        options.exclude = exclude
        options.listPageSize = listPageSize
        if let searchBody {
            let path = searchBody.hasPrefix("/") ? searchBody : workingDirectory + "/" + searchBody
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StacRepositoryError(.notFound, "Could not read --search-body \(searchBody); check the path.")
            }
            options.searchBody = data
        }
        return options
    }
}
