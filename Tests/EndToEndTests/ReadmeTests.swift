import Foundation
import Testing

/// The README's examples run as written, in order: every ```sh block is extracted and run in one
/// bash script (`set -euo pipefail`) in a temporary folder holding a copy of the project's
/// sample data, with the built `stac-repository` first on PATH. The examples keep their files
/// under `/tmp/stac-demo`, which the test points at its own folder. A block that needs servers
/// this machine does not have is marked `<!-- readme-test: skip -->` on the line before it, and
/// the test prints each skipped block.
@Suite("README examples")
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
            if block.skipped {
                print("NOTE: \(document) block at line \(block.line) is marked readme-test: skip:\n\(block.text)")
                continue
            }
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
