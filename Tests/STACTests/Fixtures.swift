/// A realistic STAC item in the repository's canonical format, with extension fields, unknown
/// fields, awkward numbers and strings that need escapes.
let canonicalItem = #"""
    {
      "type": "Feature",
      "stac_version": "1.0.0",
      "stac_extensions": [
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
      ],
      "id": "S2B_MSIL2A_20230101T103339_N0509_R108_T32TNS",
      "geometry": {
        "type": "Polygon",
        "coordinates": [
          [
            [
              8.999,
              46.0
            ],
            [
              10.4,
              46.0
            ],
            [
              10.4,
              47.1
            ],
            [
              8.999,
              46.0
            ]
          ]
        ]
      },
      "bbox": [
        8.999,
        46.0,
        10.4,
        47.1
      ],
      "properties": {
        "datetime": "2023-01-01T10:33:39.024000Z",
        "title": "Alpes – été ☀️ \"clear\" day",
        "eo:cloud_cover": 0.30000000000000004,
        "proj:epsg": 32632,
        "tiny": 1e-7,
        "negative_zero": -0,
        "big": 12345678901234567890,
        "one": 1.0,
        "exponent": 6.02E+23,
        "flags": [
          true,
          false,
          null
        ],
        "path": "C:\\data\\tile.tif",
        "note": "line one\nline two\ttabbed",
        "url": "https://example.com/a/b?x=1&y=2",
        "vendor:unknown": {
          "nested": {},
          "list": []
        }
      },
      "links": [
        {
          "rel": "collection",
          "href": "../collection.json",
          "type": "application/json"
        },
        {
          "rel": "license",
          "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
          "method": "GET"
        }
      ],
      "assets": {
        "visual": {
          "href": "./visual.tif",
          "type": "image/tiff; application=geotiff; profile=cloud-optimized",
          "title": "True color image",
          "roles": [
            "visual"
          ],
          "eo:bands": [
            {
              "name": "B04",
              "center_wavelength": 0.665
            }
          ],
          "proj:shape": [
            10980,
            10980
          ]
        },
        "thumbnail": {
          "href": "https://example.com/thumb.jpg",
          "type": "image/jpeg",
          "roles": [
            "thumbnail"
          ]
        }
      },
      "collection": "sentinel-2-l2a"
    }

    """#
