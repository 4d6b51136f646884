// AssetTransfer module: see DESIGN.md §2.
