"""Evidence: sealing, verification, signature stamps and certificates of completion."""
