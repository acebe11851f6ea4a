"""Keys, encryption at rest and the headers every page carries."""
