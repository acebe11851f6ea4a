"""What goes where in Salesforce: template fields, envelope statuses, the envelope object's
fields and lookups, files, and which per-record errors are worth retrying."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crm_adapters.base import Attachment, StatusUpdate

#: Record values (as ``fetch_record`` flattens them) → Countersign template field names.
DEFAULT_FIELD_MAPPINGS: dict[str, str] = {
    "Account.Name": "customer_company",
    "Contact.Name": "customer_name",
    "Contact.Email": "customer_email",
    "Opportunity.Unit_Price__c": "unit_price",
    "Opportunity.Seats__c": "seats",
}

#: Envelope status → the ``Status__c`` picklist value.
STATUS_LABELS: dict[str, str] = {
    "sent": "Sent",
    "completed": "Completed",
    "declined": "Declined",
    "voided": "Voided",
    "expired": "Expired",
}

#: The custom object an envelope is shown as, and its external id (the envelope id).
ENVELOPE_OBJECT = "Countersign_Envelope__c"
EXTERNAL_ID_FIELD = "External_Id__c"
NAME_MAX_LENGTH = 80

#: The envelope object's lookup to the record it was sent from, per object.
LOOKUP_FIELDS: dict[str, str] = {
    "Case": "Case__c",
    "Account": "Account__c",
    "Opportunity": "Opportunity__c",
    "Contact": "Contact__c",
}

#: ContentVersion.Description of a sealed PDF, so a retried delivery finds it (and skips it).
ATTACHMENT_DESCRIPTION = "countersign:{envelope_id}"

#: Per-record statusCodes that a later attempt may get past; every other one is permanent
#: (INVALID_CROSS_REFERENCE_KEY, ENTITY_IS_DELETED, INVALID_FIELD, MALFORMED_ID,
#: FIELD_INTEGRITY_EXCEPTION, REQUIRED_FIELD_MISSING, STRING_TOO_LONG...).
TRANSIENT_ERRORS = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "TXN_SECURITY_METERING_ERROR",
        "CONCURRENT_REQUEST_LIMIT_EXCEEDED",
    }
)


def salesforce_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as Salesforce writes datetimes; naive means UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope_record(update: StatusUpdate) -> dict[str, Any]:
    """The ``Countersign_Envelope__c`` fields for one update (unset values are left out, so an
    update never blanks what an earlier one wrote)."""
    record: dict[str, Any] = {
        "attributes": {"type": ENVELOPE_OBJECT},
        EXTERNAL_ID_FIELD: update.envelope_id,
        "Name": (update.title or update.envelope_id)[:NAME_MAX_LENGTH],
        "Status__c": STATUS_LABELS[update.status],
        "Sent_At__c": salesforce_datetime(update.sent_at),
        "Completed_At__c": salesforce_datetime(update.completed_at),
        "Document_URL__c": update.envelope_url,
        "Record_Id__c": update.record.record_id,
    }
    lookup = LOOKUP_FIELDS.get(update.record.object)
    if lookup:
        record[lookup] = update.record.record_id
    return {key: value for key, value in record.items() if value is not None}


def attachment_description(envelope_id: str) -> str:
    return ATTACHMENT_DESCRIPTION.format(envelope_id=envelope_id)


def content_version_record(
    record_id: str, attachment: Attachment, description: str | None = None
) -> dict[str, Any]:
    """A ContentVersion (a Salesforce File) published to the record: inserting it also creates
    the ContentDocument and the ContentDocumentLink to ``record_id``."""
    filename = attachment.filename.replace("/", "_").replace("\\", "_") or "document.pdf"
    title = filename.rsplit(".", 1)[0] if "." in filename else filename
    record: dict[str, Any] = {
        "attributes": {"type": "ContentVersion"},
        "Title": title[:255],
        "PathOnClient": filename[:500],
        "VersionData": base64.b64encode(attachment.content).decode("ascii"),
        "FirstPublishLocationId": record_id,
    }
    if description:
        record["Description"] = description
    return record


def apply_field_mappings(
    values: Mapping[str, Any], mappings: Mapping[str, str] = DEFAULT_FIELD_MAPPINGS
) -> dict[str, Any]:
    """Template field values from a flat record mapping (absent source keys are skipped)."""
    return {target: values[source] for source, target in mappings.items() if source in values}
