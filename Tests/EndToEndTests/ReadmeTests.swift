import Foundation
import TestSupport
import Testing

/// The README's examples run as written, in order: every ```sh block is extracted and run in one
/// bash script (`set -euo pipefail`) in a temporary folder holding a copy of the project's
/// sample data, with the built `stac-repository` first on PATH. The examples keep their files
/// under `/tmp/stac-demo`, which the test points at its own folder. A block that needs servers
/// this machine does not have is marked `<!-- readme-test: skip -->` on the line before it, and
/// the test prints each skipped block.
@Suite("README examples", .offPool, .offPool)
struct ReadmeTests {
    /// One ```sh block of a Markdown file.
    struct Block {
        var line: Int
        var text: String
        var skipped: Bool
    }

    static func shellBlocks(_ markdown: String) -> [Block] {
        var blocks: [Block] = []
        var current: [String]?
        var start = 0
        var skipNext = false
        var skipCurrent = false
        for (n, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current != nil {
                if trimmed == "```" {
                    blocks.append(
                        Block(line: start, text: (current ?? []).joined(separator: "\n"), skipped: skipCurrent))
                    current = nil
                } else {
                    current?.append(String(line))
                }
            } else if trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell" {
                current = []
                start = n + 1
                skipCurrent = skipNext
                skipNext = false
            } else if trimmed.hasPrefix("<!-- readme-test: skip") {
                skipNext = true
            } else if !trimmed.isEmpty {
                skipNext = false
            }
        }
        return blocks
    }

    @Test("the block parser finds sh blocks and honours the skip marker")
    func parser() {
        let blocks = Self.shellBlocks(
            "text\n```sh\necho one\n```\n\n<!-- readme-test: skip -->\n```sh\ncurl x\n```\n```\nnot sh\n```\n")
        #expect(blocks.map(\.text) == ["echo one", "curl x"])
        #expect(blocks.map(\.skipped) == [false, true])
        #expect(blocks.map(\.line) == [2, 7])
    }

    /// The README blocks not run by ``readmeRuns(document:)``, each marked with its reason: a new
    /// marked block must be added here on purpose, so no example stops being tested unnoticed.
    static let knownMarkedBlocks: [String: [String]] = [
        "README.md": ["./scripts/just demo", "mkdir -p ~/.local/share/bash-completion", "https://"],
        "docs/tutorial.md": [],
    ]

    @Test(
        "the sh blocks that are not run are exactly the known ones, each marked with a reason",
        arguments: ["README.md", "docs/tutorial.md"])
    func markedBlocksAreTheKnownOnes(document: String) throws {
        let text = try String(contentsOf: Env.packageRoot.appendingPathComponent(document), encoding: .utf8)
        let marked = Self.shellBlocks(text).filter(\.skipped)
        let known = Self.knownMarkedBlocks[document] ?? []
        #expect(marked.count == known.count, "\(document): marked blocks at lines \(marked.map(\.line))")
        for (block, start) in zip(marked, known) {
            #expect(block.text.contains(start), "\(document) line \(block.line): \(block.text)")
        }
        for line in text.split(separator: "\n") where line.hasPrefix("<!-- readme-test: skip") {
            #expect(line.contains("("), "a skip marker without its reason: \(line)")
        }
    }

    @Test(
        "every sh block of README.md and docs/tutorial.md runs as written, in order",
        arguments: ["README.md", "docs/tutorial.md"])
    func readmeRuns(document: String) async throws {
        let readme = try String(
            contentsOf: Env.packageRoot.appendingPathComponent(document), encoding: .utf8)
        let blocks = Self.shellBlocks(readme)
        #expect(blocks.filter { !$0.skipped }.count >= 5, "\(document) should have its examples in ```sh blocks")
        let ws = Workspace("readme")
        let folder = ws.temp.sub("project")
        let demo = ws.temp.sub("stac-demo")
        let fm = FileManager.default
        try fm.createDirectory(at: folder.appendingPathComponent("Processors"), withIntermediateDirectories: true)
        try fm.copyItem(at: Env.packageRoot.appendingPathComponent("docs"), to: folder.appendingPathComponent("docs"))
        try fm.copyItem(
            at: Env.packageRoot.appendingPathComponent("Processors/examples"),
            to: folder.appendingPathComponent("Processors/examples"))
        var script = "set -euo pipefail\n"
        for (n, block) in blocks.enumerated() {
            // Blocks marked skip are not run here; `markedBlocksAreTheKnownOnes` pins which.
            if block.skipped { continue }
            let text = block.text.replacingOccurrences(of: "/tmp/stac-demo", with: demo.path)
            script += "echo '### \(document) block \(n + 1) (line \(block.line))' >&2\n\(text)\n"
        }
        var env = ws.env
        env["TMPDIR"] = ws.temp.path
        let python = which("python3").map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        env["PATH"] =
            ([Env.binary.deletingLastPathComponent().path] + (python.map { [$0] } ?? []) + [
                env["PATH"] ?? "/usr/bin:/bin"
            ]).joined(separator: ":")
        let r = try await run("/bin/bash", ["-c", script], cwd: folder, env: env)
        let lastBlock = r.stderr.components(separatedBy: "### ").last ?? ""
        #expect(r.status == 0, "\(document) example failed in \(lastBlock)\nstdout:\n\(r.stdout.suffix(3000))")
    }
}
