import ArgumentParser
import Foundation
import STAC
import StacRepository

#if canImport(Glibc)
    import Glibc
#endif

/// The product types `list --type` accepts.
enum ProductType: String, ExpressibleByArgument, CaseIterable {
    case item, collection, catalog

    var stacType: STACType {
        switch self {
        case .item: .item
        case .collection: .collection
        case .catalog: .catalog
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the products the repository holds: id, type, parent, assets, version or datetime.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only products under this catalog or collection (PARENT-ID/ID when an id is used twice).")
    var parent: String?

    @Option(help: "Only products of this type: item, collection or catalog.")
    var type: ProductType?

    @Option(help: "List the products of this version (commit id, HEAD~N, branch or tag; git backend).")
    var ref: String?

    func run() async throws {
        let repository = try global.openRepository()
        let products = try repository.list(under: parent, type: type?.stacType, ref: ref)
        if global.json {
            try Output.json(products)
            return
        }
        // Tab-separated columns, one product a line: `cut`, `awk -F'\t'` and `sort` read it as it is.
        var text = ""
        for p in products {
            let when = p.version.map { "version \($0)" } ?? p.datetime ?? "-"
            text += [p.id, p.type, p.parent ?? "-", Output.count(p.assets, "asset"), when].joined(separator: "\t")
            text += "\n"
        }
        guard !global.quiet else { return }
        try await Pager.show(text)
    }
}

/// Shows long output through `$PAGER` (default `less -FRX`) when stdout is a terminal; writes it
/// as it is otherwise.
enum Pager {
    static func show(_ text: String) async throws {
        guard isatty(1) == 1, !text.isEmpty else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let pager = environment["PAGER"].flatMap { $0.isEmpty ? nil : $0 } ?? "less -FRX"
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", pager]
        let input = Pipe()
        process.standardInput = input
        do { try process.run() } catch {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        // Writing and waiting block: off the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                signal(SIGPIPE, SIG_IGN)
                input.fileHandleForWriting.write(Data(text.utf8))
                try? input.fileHandleForWriting.close()
                process.waitUntilExit()
                continuation.resume()
            }
        }
    }
}
