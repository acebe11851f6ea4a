"""Field values against a definition: typing, conditions, formulas, and what is missing or wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connector.templates.definition import (
    FieldDef,
    TemplateDefinition,
    evaluation_order,
)
from connector.templates.expressions import ExpressionError, parse_expression

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{5,25}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEXT_LIMITS = {"long_text": 50_000}
DEFAULT_TEXT_LIMIT = 5_000
LARGEST_NUMBER = Decimal("1e15")
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


class InvalidValue(ValueError):
    pass


@dataclass
class Evaluation:
    definition: TemplateDefinition
    values: dict[str, Any] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    missing: list[dict[str, str]] = field(default_factory=list)
    invalid: list[dict[str, str]] = field(default_factory=list)

    def condition(self, source: str | None) -> bool:
        return source is None or _truthy(source, self.values)

    @property
    def active_roles(self) -> list[str]:
        return [r.key for r in self.definition.roles if self.condition(r.when)]

    def is_complete_for(self, filled_by: str) -> bool:
        return not any(m["filled_by"] == filled_by for m in self.missing) and not self.invalid

    def display(self, key: str) -> str:
        """The value as printed in the document; an empty value is a blank to fill."""
        return format_value(
            self.definition.field(key), self.values.get(key), self.definition.currency
        )

    def json_values(self) -> dict[str, Any]:
        return {k: to_json(v) for k, v in self.values.items() if k in self.active}


def evaluate(definition: TemplateDefinition, submitted: Mapping[str, Any]) -> Evaluation:
    """Type the submitted values, apply defaults, conditions and formulas, and check them."""
    result = Evaluation(definition=definition)
    typed: dict[str, Any] = {}
    for spec in definition.fields:
        if spec.formula is not None:
            continue
        raw = submitted.get(spec.key, spec.default)
        try:
            typed[spec.key] = coerce(spec, raw)
        except InvalidValue as err:
            result.invalid.append({"field": spec.key, "message": str(err)})
            typed[spec.key] = None
    for key in evaluation_order(definition):
        spec = definition.field(key)
        if not (spec.when is None or _truthy(spec.when, result.values)):
            result.values[key] = None
            continue
        result.active.add(key)
        result.values[key] = _calculate(spec, result) if spec.formula else typed.get(key)
    for spec in definition.fields:
        value = result.values[spec.key]
        unticked = spec.type == "checkbox" and value is False  # a required box must be ticked
        if spec.key in result.active and (value is None or unticked) and _required(spec):
            result.missing.append(
                {"field": spec.key, "label": spec.label, "filled_by": spec.filled_by}
            )
    result.invalid = [i for i in result.invalid if i["field"] in result.active]
    return result


def _required(spec: FieldDef) -> bool:
    if spec.type in ("date_signed", "name_signed") or spec.formula:
        return False  # filled by the act of signing, or calculated
    return spec.required or spec.type == "signature"


def _calculate(spec: FieldDef, result: Evaluation) -> Decimal | None:
    assert spec.formula is not None
    try:
        value = parse_expression(spec.formula).evaluate(result.values)
    except ExpressionError as err:
        if any(result.values.get(n) is None for n in parse_expression(spec.formula).names):
            return None  # waits for its inputs
        result.invalid.append({"field": spec.key, "message": f"cannot be calculated: {err}"})
        return None
    try:
        return _number(spec, value)
    except InvalidValue as err:
        result.invalid.append({"field": spec.key, "message": f"cannot be calculated: {err}"})
        return None


def _truthy(source: str, values: Mapping[str, Any]) -> bool:
    try:
        return bool(parse_expression(source).evaluate(values))
    except ExpressionError:
        return False  # a condition over missing or mismatched values does not hold


def coerce(spec: FieldDef, raw: Any) -> Any:
    """The typed value of ``raw`` for ``spec``, None when empty; InvalidValue says what is wrong."""
    if raw is None or raw == "" or raw == []:
        return None
    kind = spec.type
    if kind in ("number", "currency"):
        value = _number(spec, raw)
        rules = spec.validation
        if rules and rules.min is not None and value < Decimal(str(rules.min)):
            raise InvalidValue(f"must be at least {_plain(Decimal(str(rules.min)))}")
        if rules and rules.max is not None and value > Decimal(str(rules.max)):
            raise InvalidValue(f"must be at most {_plain(Decimal(str(rules.max)))}")
        return value
    if kind == "checkbox":
        if not isinstance(raw, bool):
            raise InvalidValue("must be true or false")
        return raw
    if kind == "date":
        try:
            return date.fromisoformat(_text(spec, raw))
        except ValueError:
            raise InvalidValue("must be a date as YYYY-MM-DD") from None
    if kind == "multi_select":
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise InvalidValue("must be a list of options")
        unknown = [v for v in raw if v not in spec.options]
        if unknown:
            raise InvalidValue(f"{unknown[0]!r} is not one of the options")
        return list(dict.fromkeys(raw))
    text = _text(spec, raw)
    if kind == "select" and text not in spec.options:
        raise InvalidValue(f"{text!r} is not one of the options")
    if kind == "email" and not EMAIL.match(text):
        raise InvalidValue("must be an email address")
    if kind == "phone" and not PHONE.match(text):
        raise InvalidValue("must be a phone number")
    if spec.validation and spec.validation.regex and not re.fullmatch(spec.validation.regex, text):
        raise InvalidValue("does not have the expected format")
    return text


def _text(spec: FieldDef, raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValue("must be text")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue("contains characters that are not valid Unicode") from None
    text = CONTROL.sub("", raw)
    limit = TEXT_LIMITS.get(spec.type, DEFAULT_TEXT_LIMIT)
    if spec.validation and spec.validation.max_length:
        limit = min(limit, spec.validation.max_length)
    if len(text) > limit:
        raise InvalidValue(f"is longer than {limit} characters")
    if spec.type not in ("long_text",) and "\n" in text.strip():
        text = " ".join(text.split())
    return text


def _number(spec: FieldDef, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise InvalidValue("must be a number")
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(str(raw))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValue("must be a number") from None
    if not value.is_finite() or abs(value) >= LARGEST_NUMBER:
        raise InvalidValue("must be a finite number below 10^15")
    if spec.type == "currency":
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return value


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def format_value(spec: FieldDef, value: Any, currency: str = "USD") -> str:
    if value is None:
        return "____________"
    if spec.type == "currency":
        symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
        sign = "-" if value < 0 else ""
        return f"{sign}{symbol}{abs(value):,.2f}"
    if spec.type == "number":
        return f"{int(value):,}" if value == value.to_integral() else f"{value.normalize():,f}"
    if spec.type == "checkbox":
        return "Yes" if value else "No"
    if spec.type == "multi_select":
        return ", ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        whole = isinstance(exponent, int) and exponent >= 0 and value == value.to_integral()
        return int(value) if whole else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
