"""Countersign's core: app factory, configuration, data model, operations and the REST API."""

__version__ = "0.1.0"
