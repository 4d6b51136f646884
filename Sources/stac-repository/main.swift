print("stac-repository")
