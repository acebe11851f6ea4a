"""Marketplace packages (Zendesk app, Salesforce package) and their builder and validators."""
