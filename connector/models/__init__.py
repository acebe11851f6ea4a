"""The data model, one module per aggregate. Importing this package registers every table."""

from connector.models.audit import AuditEvent
from connector.models.base import Base, utcnow
from connector.models.bulk import BulkRow, BulkSend
from connector.models.crm import CrmConnection
from connector.models.documents import Document, DocumentKind
from connector.models.envelopes import (
    Envelope,
    EnvelopeStatus,
    FieldValue,
    Recipient,
    RecipientStatus,
)
from connector.models.holds import LegalHold
from connector.models.orgs import ApiKey, Org, Role, Team, TeamMember, User
from connector.models.outbox import OutboxMessage, OutboxStatus
from connector.models.templates import Template, TemplateVersion
from connector.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "BulkRow",
    "BulkSend",
    "CrmConnection",
    "Document",
    "DocumentKind",
    "Envelope",
    "EnvelopeStatus",
    "FieldValue",
    "LegalHold",
    "Org",
    "OutboxMessage",
    "OutboxStatus",
    "Recipient",
    "RecipientStatus",
    "Role",
    "Team",
    "TeamMember",
    "Template",
    "TemplateVersion",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "utcnow",
]
