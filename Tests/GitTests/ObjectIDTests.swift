import Git
import TestSupport
import Testing

@Suite(.offPool) struct ObjectIDTests {
    @Test func hexRoundTripsAndIsLowercased() throws {
        let id = try #require(ObjectID(hex: "4B825DC642CB6EB9A060E54BF8D69288FBEE4904"))
        #expect(id.hex == "4b825dc642cb6eb9a060e54bf8d69288fbee4904")
        #expect(id.shortHex == "4b825dc")
        #expect(id == ObjectID.emptyTree)
        #expect(id.description == id.hex)
    }

    @Test(arguments: [
        "", "4b825dc", "4b825dc642cb6eb9a060e54bf8d69288fbee490g", "4b825dc642cb6eb9a060e54bf8d69288fbee49044",
    ])
    func malformedHexIsRejected(_ text: String) {
        #expect(ObjectID(hex: text) == nil)
    }
}
