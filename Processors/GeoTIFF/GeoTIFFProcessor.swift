// GeoTIFF processor: see DESIGN.md §9.
