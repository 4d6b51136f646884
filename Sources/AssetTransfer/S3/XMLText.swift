import Foundation

/// Just enough XML for S3's answers (ListObjectsV2, multipart uploads, errors) and the HTML of
/// directory listings: the text of simple elements, entities undone and done.
enum XMLText {
    static func element(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(name)>"),
            let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    static func elements(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text.startIndex..<text.endIndex
        while let start = text.range(of: "<\(name)>", range: rest),
            let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
        {
            found.append(String(text[start.upperBound..<end.lowerBound]))
            rest = end.upperBound..<text.endIndex
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "&", let semicolon = text[index...].firstIndex(of: ";") {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        replacement = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map {
                            String($0)
                        }
                    } else if entity.hasPrefix("#") {
                        replacement = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
                    }
                }
                if let replacement {
                    out += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(c)
            index = text.index(after: index)
        }
        return out
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Entities undone (`&amp;`, `&lt;`, `&#x2F;`…): ``unescape(_:)`` under the name the listing
    /// code uses.
    static func decode(_ text: String) -> String { unescape(text) }
}
