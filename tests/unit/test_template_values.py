"""Values: types, defaults, conditions, formulas, and what is missing or invalid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.templates.definition import TemplateDefinition, parse_definition
from connector.templates.demo import demo_definition
from connector.templates.evaluate import evaluate


@pytest.fixture(scope="module")
def saas() -> TemplateDefinition:
    return parse_definition(demo_definition("saas_amendment.yaml"))


@pytest.fixture(scope="module")
def telehealth() -> TemplateDefinition:
    return parse_definition(demo_definition("telehealth_consent.yaml"))


def test_total_is_seats_times_unit_price(saas: TemplateDefinition) -> None:
    result = evaluate(saas, {"seats": 12, "unit_price": "19.99"})
    assert result.values["total"] == Decimal("239.88")
    assert result.display("total") == "$239.88"


def test_the_sla_field_exists_only_for_enterprise(saas: TemplateDefinition) -> None:
    assert "sla_uptime" in evaluate(saas, {"plan": "enterprise"}).active
    assert "sla_uptime" not in evaluate(saas, {"plan": "pro"}).active


def test_the_guardian_signs_only_for_minors(telehealth: TemplateDefinition) -> None:
    minor = evaluate(telehealth, {"patient_age": 16})
    adult = evaluate(telehealth, {"patient_age": 30})

    assert {"guardian_name", "guardian_signature"} <= {m["field"] for m in minor.missing}
    assert "guardian" in minor.active_roles
    assert not {"guardian_name", "guardian_signature"} & {m["field"] for m in adult.missing}
    assert "guardian" not in adult.active_roles


def test_a_required_checkbox_must_be_ticked(telehealth: TemplateDefinition) -> None:
    unticked = evaluate(telehealth, {"ack_risks": False})
    ticked = evaluate(telehealth, {"ack_risks": True})
    assert "ack_risks" in {m["field"] for m in unticked.missing}
    assert "ack_risks" not in {m["field"] for m in ticked.missing}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"seats": "many"}, "seats", "must be a number"),
        ({"seats": 0}, "seats", "must be at least 1"),
        ({"seats": "NaN"}, "seats", "must be a finite number"),
        ({"plan": "platinum"}, "plan", "'platinum' is not one of the options"),
        ({"customer_email": "not-mail"}, "customer_email", "must be an email address"),
        ({"effective_date": "2026-13-01"}, "effective_date", "must be a date as YYYY-MM-DD"),
        ({"customer_company": "\ud800"}, "customer_company", "not valid Unicode"),
        ({"customer_company": "x" * 5001}, "customer_company", "longer than 5000"),
        ({"seats": True}, "seats", "must be a number"),
    ],
)
def test_invalid_values_are_named(
    saas: TemplateDefinition, values: dict, field: str, message: str
) -> None:
    invalid = evaluate(saas, values).invalid
    assert [i["field"] for i in invalid] == [field]
    assert message in invalid[0]["message"]


def test_values_of_inactive_fields_are_dropped(saas: TemplateDefinition) -> None:
    result = evaluate(saas, {"plan": "pro", "sla_uptime": "99.95%"})
    assert "sla_uptime" not in result.json_values()
