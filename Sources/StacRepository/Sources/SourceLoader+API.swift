import AssetTransfer
import Foundation
import STAC

/// STAC API sources: `/search` (GET, or POST with `--search-body`) and `/collections/X/items`
/// pages followed through their `next` links, and landing pages walked through their collections.
///
/// A `next` link is followed as the STAC API spec says: `GET` its `href`, or, with
/// `"method": "POST"`, send its `body` (merged into the previous body when `"merge": true`).
/// A `next` that leads back to a page already read is an error (the API loops), and so is a page
/// that is not an ItemCollection. `--max-items N` stops after N items.
extension SourceLoader {
    /// POSTs `--search-body` to `location` and follows the pages; nil without a search body.
    func loadSearchBody(_ location: String) async throws -> [SourceProduct]? {
        guard let body = options.searchBody else { return nil }
        guard Href.scheme(of: location) == .http || Href.scheme(of: location) == .https else {
            throw StacRepositoryError(
                .usage, "--search-body needs an http(s) search URL (e.g. https://host/search), not \(location).")
        }
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(body, source: "the search body") } catch {
            throw StacRepositoryError(.invalidInput, "\(error.description); fix the --search-body file.")
        }
        guard parsed.objectValue != nil else {
            throw StacRepositoryError(.invalidInput, "The --search-body file must hold a JSON object; fix it.")
        }
        let items = try await pages(from: location, body: parsed, first: nil, budget: options.maxItems)
        return try await withCollectionsIfAPI(items, apiRoot: Self.apiRoot(of: location))
    }

    /// The products of an API document already read: a search or items page (remote ItemCollection
    /// with `next` links, or a URL ending in `/search` or `/items`), or a landing page; nil otherwise.
    func loadAPI(_ location: String, page data: Data) async throws -> [SourceProduct]? {
        guard Href.scheme(of: location) == .http || Href.scheme(of: location) == .https,
            let value = try? JSONValue.parse(data, source: displayName(location)), let object = value.objectValue
        else { return nil }
        let path = URL(string: location)?.path ?? ""
        let isPageURL = path.hasSuffix("/search") || path.hasSuffix("/items")
        if object["type"]?.stringValue == "FeatureCollection" {
            let hasNext = Self.nextLink(of: object) != nil
            guard hasNext || isPageURL else { return nil }
            let items = try await pages(from: location, body: nil, first: data, budget: options.maxItems)
            return try await withCollectionsIfAPI(items, apiRoot: Self.apiRoot(of: location))
        }
        if isPageURL {
            throw StacRepositoryError(
                .invalidInput,
                "\(displayName(location)) is not an ItemCollection (it has no \"type\": \"FeatureCollection\"), so it is no STAC API search or items page; check the URL."
            )
        }
        let links = object["links"]?.arrayValue ?? []
        let isLanding =
            object["conformsTo"]?.arrayValue != nil || links.contains { $0["rel"]?.stringValue == "data" }
        guard isLanding else { return nil }
        return try await walkLanding(location, object: object)
    }

    /// Every collection of a landing page (its `data` link, else `/collections`), each with the
    /// items of its `items` link.
    private func walkLanding(_ location: String, object: JSONObject) async throws -> [SourceProduct] {
        let links = object["links"]?.arrayValue ?? []
        let dataHref =
            links.first { $0["rel"]?.stringValue == "data" }?["href"]?.stringValue.map {
                Href.resolve($0, against: location)
            } ?? Self.join(Self.withoutQuery(location), "collections")
        let listing = try await readDocument(dataHref, displayName: displayName(dataHref))
        guard let list = try? JSONValue.parse(listing, source: displayName(dataHref)),
            let collections = list["collections"]?.arrayValue
        else {
            throw StacRepositoryError(
                .invalidInput,
                "\(displayName(dataHref)), the collections of the STAC API at \(displayName(location)), has no \"collections\" array; check the API."
            )
        }
        var out: [SourceProduct] = []
        var items: [SourceProduct] = []
        var budget = options.maxItems
        for value in collections {
            let (typed, inferred) = STACObject.addingInferredType(to: value)
            if inferred != nil { notes.typedWithoutType() }
            let collection: STACObject
            do { collection = try STACObject(typed, source: "a collection of \(displayName(dataHref))") } catch {
                throw StacRepositoryError(.invalidInput, "\(error)")
            }
            let product = SourceProduct(object: collection, location: dataHref)
            try confinement.confineAssets(of: product)
            out.append(product)
            if budget == 0 { continue }
            let itemsHref =
                collection.links.first { $0.rel == "items" }.map { Href.resolve($0.href, against: dataHref) }
                ?? Self.join(Self.join(Self.withoutQuery(dataHref), "collections"), collection.id) + "/items"
            let found = try await pages(from: itemsHref, body: nil, first: nil, budget: budget)
            if let b = budget { budget = max(0, b - found.count) }
            items += found
        }
        return out + items
    }

    /// Reads a search or items endpoint page by page. `first` is the first page when already read.
    func pages(from location: String, body: JSONValue?, first: Data?, budget: Int?) async throws -> [SourceProduct] {
        var items: [SourceProduct] = []
        var href = location
        var body = body
        var data = first
        var seen: Set<String> = []
        var page = 0
        while budget.map({ items.count < $0 }) ?? true {
            page += 1
            let key = href + "\n" + (body.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")
            guard seen.insert(key).inserted else {
                throw StacRepositoryError(
                    .invalidInput,
                    "The STAC API at \(displayName(location)) loops: page \(page)'s \"next\" link leads back to \(displayName(href)), a page already read; report it to the API's maintainers, or take fewer items with --max-items."
                )
            }
            let bytes: Data
            if let data {
                bytes = data
            } else {
                bytes = try await readPage(href, body: body)
            }
            data = nil
            let value: JSONValue
            do { value = try JSONValue.parse(bytes, source: displayName(href)) } catch {
                throw StacRepositoryError(
                    .invalidInput,
                    "Page \(page) of \(displayName(location)) (\(displayName(href))) is not JSON: \(error.description)")
            }
            guard let object = value.objectValue, object["type"]?.stringValue == "FeatureCollection" else {
                throw StacRepositoryError(
                    .invalidInput,
                    "Page \(page) of \(displayName(location)) (\(displayName(href))) is not an ItemCollection (no \"type\": \"FeatureCollection\"); check the URL, or the API's \"next\" links."
                )
            }
            let products = try documentProducts(
                data: bytes, location: href, source: displayName(href), followLinks: false, roots: [])
            for p in products where p.object.type == .item {
                try confinement.confineAssets(of: p)
                if let budget, items.count >= budget { break }
                items.append(p)
            }
            guard !products.isEmpty, let next = Self.nextLink(of: object) else { break }
            let nextHref = next["href"]?.stringValue.map { Href.resolve($0, against: href) } ?? href
            if (next["method"]?.stringValue ?? "GET").uppercased() == "POST" {
                let linkBody = next["body"]?.objectValue
                if next["merge"]?.boolValue == true, let linkBody {
                    var merged = body?.objectValue ?? JSONObject()
                    for (k, v) in linkBody { merged[k] = v }
                    body = .object(merged)
                } else if let linkBody {
                    body = .object(linkBody)
                }
                if body == nil { body = .object(JSONObject()) }
            } else {
                body = nil
            }
            href = nextHref
        }
        return items
    }

    private func readPage(_ href: String, body: JSONValue?) async throws -> Data {
        guard let body else { return try await readDocument(href, displayName: displayName(href)) }
        do {
            return try await engine.readDocument(href, postBody: Data(body.serialized()))
        } catch {
            throw StacRepositoryError(.transfer, withoutAssetErrorHint(error.message), underlying: error)
        }
    }

    private func withCollectionsIfAPI(_ items: [SourceProduct], apiRoot: String?) async throws -> [SourceProduct] {
        guard options.withCollections ?? true else { return items }
        return try await withCollections(items, apiRoot: apiRoot)
    }

    /// `items` preceded by their collections: each item's `collection` link, else the API's
    /// `/collections/{id}`, read once per collection and taken without its own item links.
    func withCollections(_ products: [SourceProduct], apiRoot: String?) async throws -> [SourceProduct] {
        var targets: [(id: String, href: String)] = []
        var known: Set<String> = []
        for p in products where p.object.type == .item {
            guard let id = p.object.collectionID, !known.contains(id) else { continue }
            let link = p.object.links.first { $0.rel == "collection" }.map {
                Href.resolve($0.href, against: p.location)
            }
            let href: String
            if let link, Href.scheme(of: link) != .file || FS.isRegularFile(link) {
                let reference = try confinement.check(
                    link, href: link, document: p.location, roots: p.roots,
                    subject: "The collection link of item \"\(p.object.id)\" in \(displayName(p.location))")
                href = reference.fetch
            } else if let apiRoot {
                href = Self.join(Self.join(apiRoot, "collections"), id)
            } else {
                continue
            }
            known.insert(id)
            targets.append((id, href))
        }
        guard !targets.isEmpty else { return products }
        let documents = try await readAll(targets.map(\.href))
        var collections: [SourceProduct] = []
        for (target, data) in zip(targets, documents) {
            let object = try parseObject(data, target: target.href)
            guard object.type == .collection else {
                throw StacRepositoryError(
                    .invalidInput,
                    "\(displayName(target.href)), the collection of items naming \"\(target.id)\", is a \(object.type.rawValue), not a Collection; fix the items' collection link."
                )
            }
            let product = SourceProduct(object: object, location: target.href)
            if Href.scheme(of: target.href) == .file {
                product.roots = [SourceConfinement.root(ofDocument: target.href)]
            }
            try confinement.confineAssets(of: product)
            collections.append(product)
        }
        return collections + products
    }

    static func nextLink(of object: JSONObject) -> JSONObject? {
        object["links"]?.arrayValue?.first { $0["rel"]?.stringValue == "next" }?.objectValue
    }

    /// The API root of a search or items URL: `…/search` → `…`, `…/collections/X/items` → `…`.
    static func apiRoot(of location: String) -> String? {
        let base = withoutQuery(location)
        if base.hasSuffix("/search") { return String(base.dropLast("/search".count)) }
        if base.hasSuffix("/items"), let range = base.range(of: "/collections/", options: .backwards) {
            return String(base[..<range.lowerBound])
        }
        return nil
    }

    static func withoutQuery(_ url: String) -> String {
        String(url[..<(url.firstIndex { $0 == "?" || $0 == "#" } ?? url.endIndex)])
    }

    static func join(_ base: String, _ component: String) -> String {
        (base.hasSuffix("/") ? base : base + "/") + component
    }
}
