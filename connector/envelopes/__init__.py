"""Envelopes: sending, routing, reminders, expiry, voiding and completion."""
