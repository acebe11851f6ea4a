"""The definition format: every problem named by its path; no way into Python internals."""

from __future__ import annotations

from typing import Any

import pytest

from connector.templates.definition import DefinitionError, load_definition_text, parse_definition
from connector.templates.demo import DEMO_TEMPLATES, demo_definition
from connector.templates.expressions import ExpressionError, parse_expression


def minimal(**overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "roles": [{"key": "customer", "kind": "signer"}],
        "fields": [
            {"key": "plan", "label": "Plan", "type": "select", "options": ["pro", "enterprise"]},
            {"key": "seats", "label": "Seats", "type": "number"},
        ],
        "body": [
            {"type": "heading", "text": "Order"},
            {"type": "clause", "text": "Plan {{ plan }} for {{ seats }} seats."},
            {"type": "clause", "text": "Enterprise terms.", "when": "plan == 'enterprise'"},
            {"type": "signature_block", "role": "customer"},
        ],
    }
    definition.update(overrides)
    return definition


def errors_of(data: Any) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    return [f"{e['path']}: {e['message']}" for e in refused.value.errors]


@pytest.mark.parametrize(("filename", "name", "_description", "_team"), DEMO_TEMPLATES)
def test_the_demo_templates_are_valid(
    filename: str, name: str, _description: str, _team: Any
) -> None:
    assert parse_definition(demo_definition(filename)).title == name


def test_a_condition_naming_an_unknown_field_names_its_path() -> None:
    data = minimal()
    data["body"].insert(3, {"type": "clause", "text": "x", "when": "plann == 'pro'"})
    assert errors_of(data) == ["body[3].when: unknown field 'plann'"]


def test_unknown_types_keys_and_blocks() -> None:
    data = minimal()
    data["fields"][1]["type"] = "blob"
    data["body"][0]["colour"] = "red"
    data["body"].append({"type": "marquee"})
    problems = errors_of(data)
    assert problems[0].startswith("fields[1].type: unknown type 'blob'")
    assert "body[0]: unknown key 'colour'" in problems
    assert "body[4]: unknown block type 'marquee'" in problems


def test_cyclic_formulas_are_refused() -> None:
    data = minimal()
    data["fields"] += [
        {"key": "a", "label": "A", "type": "number", "formula": "b + 1"},
        {"key": "b", "label": "B", "type": "number", "formula": "a * 2"},
    ]
    assert errors_of(data) == ["fields: formulas and conditions form a cycle: a → b → a"]


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for x in range(10) %}x{% endfor %}",
        "{{ plan|attr('__class__') }}",
        "{# hidden #}",
        "{{ config }}",
    ],
)
def test_template_injection_in_clause_text_is_refused(text: str) -> None:
    data = minimal()
    data["body"][1]["text"] = text
    problems = errors_of(data)
    assert problems[0].startswith("body[1].text: ")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("''.__class__", "getattr"),
        ("seats.__class__", "getattr"),
        ("cycler.__init__.__globals__", "getattr"),
        ("__import__('os')", "may only call"),
        ("_secret == 1", "not allowed"),
        ("seats ** 999999", "pow"),
        ("seats[0]", "getitem"),
        ("lipsum()", "may only call"),
        ("plan|attr('x')", "filter 'attr'"),
        ("1 }}{{ 2", "after the expression"),
    ],
)
def test_expressions_reach_nothing_but_values(expression: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        parse_expression(expression)


def test_the_sandbox_refuses_string_bombs_at_run_time() -> None:
    with pytest.raises(ExpressionError, match="only numbers can be multiplied"):
        parse_expression("plan * 100000000").evaluate({"plan": "pro"})
    assert parse_expression("seats * price").evaluate({"seats": 3, "price": 2}) == 6


def test_rules_between_parts() -> None:
    data = minimal(roles=[{"key": "customer"}, {"key": "billing", "kind": "cc"}])
    data["fields"] += [
        {"key": "sig", "label": "S", "type": "signature", "filled_by": "billing"},
        {"key": "colour", "label": "C", "type": "select"},
        {"key": "note", "label": "N", "type": "text", "filled_by": "nobody"},
        {"key": "plan", "label": "Again", "type": "text"},
    ]
    data["body"].append({"type": "signature_block", "role": "billing"})
    assert errors_of(data) == [
        "fields[5].key: duplicate key 'plan'",
        "fields[2].filled_by: a signing field is filled by a signer or approver role",
        "fields[3].options: a select field needs options",
        "fields[4].filled_by: unknown role 'nobody'",
        "body[4].role: role 'billing' does not sign",
    ]


def test_a_signer_without_signature_block_is_named() -> None:
    data = minimal(roles=[{"key": "customer"}, {"key": "provider"}])
    assert errors_of(data) == ["body: role 'provider' has no signature_block"]


def test_uploaded_text_must_be_utf8_json_or_yaml() -> None:
    assert load_definition_text(b'{"roles": []}') == {"roles": []}
    assert load_definition_text(b"roles:\n  - key: c\n", filename="t.yaml") == {
        "roles": [{"key": "c"}]
    }
    with pytest.raises(DefinitionError, match="is not UTF-8"):
        load_definition_text(b"roles: \xff\xfe")
    with pytest.raises(DefinitionError, match="is not JSON"):
        load_definition_text(b"{nope", filename="t.json")
    with pytest.raises(DefinitionError, match="is not YAML"):
        load_definition_text(b"a: [unclosed", filename="t.yml")
