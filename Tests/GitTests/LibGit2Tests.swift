import Git
import TestSupport
import Testing

@Suite(.offPool) struct LibGit2Tests {
    @Test func reportsTheLinkedLibraryVersion() {
        #expect(LibGit2.version.hasPrefix("1."))
    }

    @Test func errorsReadAsSentences() {
        let error = GitError(
            code: .modified, function: "git_reference_create_matching", message: "old reference value does not match")
        #expect(
            error.description == "git_reference_create_matching failed (modified): old reference value does not match")
        #expect(GitError.Code.modified ~= error)
        #expect(!(GitError.Code.locked ~= error))
    }
}
