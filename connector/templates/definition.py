"""The template definition format: its schema, and the checks that name the path of each problem.

A definition is JSON (YAML accepted on upload). :func:`parse_definition` returns a checked
:class:`TemplateDefinition` or raises :class:`DefinitionError` with one entry per problem, each
naming its path (``body[3].when: unknown field 'plann'``).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connector.templates.expressions import FUNCTIONS, Expression, ExpressionError, parse_expression

IDENTIFIER = r"^[a-z][a-z0-9_]{0,62}$"
Key = Annotated[str, Field(pattern=IDENTIFIER)]
Text = Annotated[str, Field(max_length=20_000)]
Label = Annotated[str, Field(min_length=1, max_length=300)]
FieldType = Literal[
    "text",
    "long_text",
    "number",
    "currency",
    "date",
    "email",
    "phone",
    "select",
    "multi_select",
    "checkbox",
    "signature",
    "initials",
    "date_signed",
    "name_signed",
]
#: Types a signer fills by the act of signing; stamped at completion.
SIGNING_TYPES = frozenset({"signature", "initials", "date_signed", "name_signed"})
NUMERIC_TYPES = frozenset({"number", "currency"})
PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")
TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
MAX_FIELDS = 500
MAX_BLOCKS = 1000


class DefinitionError(Exception):
    """The definition is not acceptable; ``errors`` holds ``{"path", "message"}`` entries."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleDef(_Strict):
    key: Key
    kind: Literal["signer", "approver", "cc"] = "signer"
    label: Label | None = None
    #: The role takes part only while this condition holds (e.g. a guardian for minors).
    when: str | None = None


class Validation(_Strict):
    regex: Annotated[str, Field(max_length=500)] | None = None
    min: float | None = None
    max: float | None = None
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"not a regular expression: {err}") from None
        return value


class Placement(_Strict):
    """Where a signing field is stamped on a PDF-based template (points, origin bottom-left)."""

    page: Annotated[int, Field(ge=1, le=500)]
    rect: tuple[float, float, float, float]


class FieldDef(_Strict):
    key: Key
    label: Label
    type: FieldType
    required: bool = False
    filled_by: str = "sender"
    default: Any = None
    options: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=200)] = []
    validation: Validation | None = None
    source: Annotated[str, Field(pattern=r"^(zendesk|salesforce):[A-Za-z0-9_.]{1,200}$")] | None = (
        None
    )
    when: str | None = None
    formula: str | None = None
    locked: bool = False
    #: PDF-based templates: the AcroForm field this value fills.
    pdf_field: Annotated[str, Field(max_length=300)] | None = None
    placement: Placement | None = None


class Heading(_Strict):
    type: Literal["heading"]
    text: Label
    level: Annotated[int, Field(ge=1, le=3)] = 1
    when: str | None = None


class Clause(_Strict):
    type: Literal["clause"]
    key: Key | None = None
    title: Label | None = None
    text: Text
    #: No agent can ever change a locked clause; only admins publish new versions.
    locked: bool = False
    when: str | None = None


class TableRow(_Strict):
    cells: Annotated[
        list[Annotated[str, Field(max_length=2000)]], Field(min_length=1, max_length=12)
    ]
    when: str | None = None


class Table(_Strict):
    type: Literal["table"]
    title: Label | None = None
    columns: Annotated[list[Label], Field(min_length=1, max_length=12)]
    rows: Annotated[list[TableRow], Field(min_length=1, max_length=500)]
    when: str | None = None


class PageBreak(_Strict):
    type: Literal["page_break"]


class SignatureBlock(_Strict):
    type: Literal["signature_block"]
    role: Key
    label: Label | None = None
    when: str | None = None


Block = Annotated[
    Heading | Clause | Table | PageBreak | SignatureBlock, Field(discriminator="type")
]


class TemplateDefinition(_Strict):
    title: Label | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    roles: Annotated[list[RoleDef], Field(min_length=1, max_length=20)]
    fields: Annotated[list[FieldDef], Field(max_length=MAX_FIELDS)] = []
    body: Annotated[list[Block], Field(max_length=MAX_BLOCKS)] = []

    def field(self, key: str) -> FieldDef:
        return next(f for f in self.fields if f.key == key)

    def role(self, key: str) -> RoleDef:
        return next(r for r in self.roles if r.key == key)

    @property
    def field_keys(self) -> list[str]:
        return [f.key for f in self.fields]

    def expression(self, source: str) -> Expression:
        return parse_expression(source)


def load_definition_text(raw: bytes, *, filename: str = "") -> Any:
    """Decode an uploaded definition file: JSON, or YAML (.yaml/.yml or not valid JSON)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DefinitionError(
            [{"path": "definition", "message": f"is not UTF-8 (byte {err.start})"}]
        ) from None
    if not filename.endswith((".yaml", ".yml")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            if filename.endswith(".json"):
                raise DefinitionError(
                    [
                        {
                            "path": "definition",
                            "message": f"is not JSON: {err.msg} (line {err.lineno})",
                        }
                    ]
                ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DefinitionError(
            [{"path": "definition", "message": f"is not YAML: {str(err).splitlines()[0]}"}]
        ) from None


def parse_definition(data: Any) -> TemplateDefinition:
    """Validate ``data`` against the schema and the rules between its parts."""
    if not isinstance(data, dict):
        raise DefinitionError([{"path": "definition", "message": "must be an object"}])
    try:
        definition = TemplateDefinition.model_validate(data)
    except ValidationError as err:
        raise DefinitionError([_schema_error(e) for e in err.errors()]) from None
    errors = list(_check(definition))
    if errors:
        raise DefinitionError(errors)
    return definition


def _schema_error(error: Any) -> dict[str, str]:
    path = ""
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("heading", "clause", "table", "page_break", "signature_block"):
            continue  # the discriminator's tag, not a key of the document
        else:
            path += f".{part}" if path else str(part)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        key = path.rsplit(".", 1)[-1]
        path, message = (
            path.rsplit(".", 1)[0] if "." in path else "definition",
            f"unknown key {key!r}",
        )
    elif error["type"] == "union_tag_invalid":
        message = (
            f"unknown block type {error['input'].get('type')!r}"
            if isinstance(error["input"], dict)
            else message
        )
    elif error["type"] == "literal_error" and path.endswith(".type"):
        message = f"unknown type {error['input']!r}; {error['ctx']['expected']}"
    return {"path": path or "definition", "message": message}


def _check(definition: TemplateDefinition) -> Iterable[dict[str, str]]:
    roles = {r.key: r for r in definition.roles}
    keys = definition.field_keys
    yield from _duplicates("roles", [r.key for r in definition.roles])
    yield from _duplicates("fields", keys)
    known = set(keys)
    for i, role in enumerate(definition.roles):
        if role.when:
            yield from _expression(f"roles[{i}].when", role.when, known)
    for i, field in enumerate(definition.fields):
        yield from _check_field(f"fields[{i}]", field, roles, known)
    yield from _cycles(definition)
    yield from _check_body(definition, roles, known)


def _check_field(
    path: str, field: FieldDef, roles: dict[str, RoleDef], known: set[str]
) -> Iterable[dict[str, str]]:
    if field.key in FUNCTIONS:
        yield {"path": f"{path}.key", "message": f"{field.key!r} is reserved for a function"}
    if field.filled_by != "sender" and field.filled_by not in roles:
        yield {"path": f"{path}.filled_by", "message": f"unknown role {field.filled_by!r}"}
    if field.type in SIGNING_TYPES:
        role = roles.get(field.filled_by)
        if role is None or role.kind == "cc":
            yield {
                "path": f"{path}.filled_by",
                "message": "a signing field is filled by a signer or approver role",
            }
    if field.type in ("select", "multi_select") and not field.options:
        yield {"path": f"{path}.options", "message": "a select field needs options"}
    if (
        field.default is not None
        and field.options
        and field.type == "select"
        and field.default not in field.options
    ):
        yield {"path": f"{path}.default", "message": f"{field.default!r} is not one of the options"}
    if field.locked and field.filled_by != "sender":
        yield {"path": f"{path}.locked", "message": "only sender fields can be locked"}
    if field.formula is not None:
        if field.type not in NUMERIC_TYPES:
            yield {
                "path": f"{path}.formula",
                "message": "only number and currency fields have formulas",
            }
        if field.filled_by != "sender" or field.default is not None:
            yield {
                "path": f"{path}.formula",
                "message": "a calculated field has no default and is filled by nobody",
            }
        yield from _expression(f"{path}.formula", field.formula, known)
    if field.when is not None:
        yield from _expression(f"{path}.when", field.when, known)


def _check_body(
    definition: TemplateDefinition, roles: dict[str, RoleDef], known: set[str]
) -> Iterable[dict[str, str]]:
    signed: list[str] = []
    for i, block in enumerate(definition.body):
        path = f"body[{i}]"
        if getattr(block, "when", None):
            yield from _expression(f"{path}.when", block.when, known)  # type: ignore[union-attr, arg-type]
        if isinstance(block, Heading | Clause):
            yield from _text(f"{path}.text", block.text, known)
        elif isinstance(block, Table):
            for r, row in enumerate(block.rows):
                if len(row.cells) != len(block.columns):
                    yield {
                        "path": f"{path}.rows[{r}].cells",
                        "message": f"has {len(row.cells)} cells for {len(block.columns)} columns",
                    }
                for c, cell in enumerate(row.cells):
                    yield from _text(f"{path}.rows[{r}].cells[{c}]", cell, known)
                if row.when:
                    yield from _expression(f"{path}.rows[{r}].when", row.when, known)
        elif isinstance(block, SignatureBlock):
            if block.label:
                yield from _text(f"{path}.label", block.label, known)
            role = roles.get(block.role)
            if role is None:
                yield {"path": f"{path}.role", "message": f"unknown role {block.role!r}"}
            elif role.kind != "signer":
                yield {"path": f"{path}.role", "message": f"role {block.role!r} does not sign"}
            if block.role in signed:
                yield {
                    "path": f"{path}.role",
                    "message": f"role {block.role!r} already has a signature block",
                }
            signed.append(block.role)
    if definition.body:
        for role in definition.roles:
            if role.kind == "signer" and role.key not in signed:
                yield {"path": "body", "message": f"role {role.key!r} has no signature_block"}


def _text(path: str, text: str, known: set[str]) -> Iterable[dict[str, str]]:
    """Clause text may hold ``{{ field_key }}`` placeholders and nothing else of Jinja."""
    for key in PLACEHOLDER.findall(text):
        if key not in known:
            yield {"path": path, "message": f"unknown field {key!r}"}
    leftover = TEMPLATE_SYNTAX.search(PLACEHOLDER.sub("", text))
    if leftover:
        yield {
            "path": path,
            "message": "only {{ field_key }} placeholders are allowed; "
            f"found {text[max(leftover.start() - 10, 0) : leftover.end() + 20]!r}",
        }


def _expression(path: str, source: str, known: set[str]) -> Iterable[dict[str, str]]:
    try:
        expression = parse_expression(source)
    except ExpressionError as err:
        yield {"path": path, "message": f"the expression {err}"}
        return
    for name in sorted(expression.names - known):
        yield {"path": path, "message": f"unknown field {name!r}"}


def _duplicates(path: str, keys: list[str]) -> Iterable[dict[str, str]]:
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key in seen:
            yield {"path": f"{path}[{i}].key", "message": f"duplicate key {key!r}"}
        seen.add(key)


def dependencies(definition: TemplateDefinition) -> dict[str, set[str]]:
    """For each field, the fields its formula and condition read."""
    graph: dict[str, set[str]] = {}
    for field in definition.fields:
        names: set[str] = set()
        for source in (field.formula, field.when):
            if source:
                with contextlib.suppress(ExpressionError):  # reported by the checks instead
                    names |= parse_expression(source).names
        graph[field.key] = names & set(definition.field_keys)
    return graph


def evaluation_order(definition: TemplateDefinition) -> list[str]:
    """Field keys ordered so that each comes after the fields it reads (no cycles assumed)."""
    graph = dependencies(definition)
    order: list[str] = []
    done: set[str] = set()

    def visit(key: str) -> None:
        if key in done:
            return
        done.add(key)
        for dependency in sorted(graph.get(key, ())):
            visit(dependency)
        order.append(key)

    for key in definition.field_keys:
        visit(key)
    return order


def _cycles(definition: TemplateDefinition) -> Iterable[dict[str, str]]:
    graph = dependencies(definition)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        stack.append(key)
        for dependency in sorted(graph.get(key, ())):
            if state.get(dependency) == 1:
                return [*stack[stack.index(dependency) :], dependency]
            if dependency not in state:
                cycle = visit(dependency)
                if cycle:
                    return cycle
        stack.pop()
        state[key] = 2
        return None

    for key in definition.field_keys:
        if key not in state:
            cycle = visit(key)
            if cycle:
                yield {
                    "path": "fields",
                    "message": f"formulas and conditions form a cycle: {' → '.join(cycle)}",
                }
                return
