"""Signing: tokens, the signer's operations (view, consent, complete, decline) and their rules."""
