"""The document a definition and its values make: one list of items both renderers draw.

Because the PDF and the HTML signing page are drawn from the same items, they say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.templates.definition import (
    PLACEHOLDER,
    Clause,
    Heading,
    PageBreak,
    SignatureBlock,
    Table,
)
from connector.templates.evaluate import Evaluation


@dataclass(frozen=True)
class HeadingItem:
    text: str
    level: int


@dataclass(frozen=True)
class ClauseItem:
    key: str | None
    title: str | None
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class TableItem:
    title: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class PageBreakItem:
    pass


@dataclass(frozen=True)
class SignatureItem:
    role: str
    label: str
    #: Values stamped at completion (printed name, date...); empty while unsigned.
    printed_name: str = ""


Item = HeadingItem | ClauseItem | TableItem | PageBreakItem | SignatureItem


def fill(text: str, evaluation: Evaluation) -> str:
    """Replace each ``{{ key }}`` with the field's printed value. The result is plain text."""
    return PLACEHOLDER.sub(lambda m: evaluation.display(m.group(1)), text)


def document_items(evaluation: Evaluation) -> list[Item]:
    definition = evaluation.definition
    items: list[Item] = []
    for block in definition.body:
        if not evaluation.condition(getattr(block, "when", None)):
            continue
        if isinstance(block, Heading):
            items.append(HeadingItem(fill(block.text, evaluation), block.level))
        elif isinstance(block, Clause):
            paragraphs = tuple(
                p.strip() for p in fill(block.text, evaluation).split("\n\n") if p.strip()
            )
            items.append(ClauseItem(block.key, block.title, paragraphs))
        elif isinstance(block, Table):
            rows = tuple(
                tuple(fill(cell, evaluation) for cell in row.cells)
                for row in block.rows
                if evaluation.condition(row.when)
            )
            items.append(TableItem(block.title, tuple(block.columns), rows))
        elif isinstance(block, PageBreak):
            items.append(PageBreakItem())
        elif isinstance(block, SignatureBlock):
            role = definition.role(block.role)
            label = fill(block.label, evaluation) if block.label else (role.label or role.key)
            items.append(SignatureItem(block.role, label))
    return items


def plain_text(items: list[Item]) -> str:
    """The words of the document, in order (for comparing renderings and for search)."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, HeadingItem):
            parts.append(item.text)
        elif isinstance(item, ClauseItem):
            parts.extend(filter(None, (item.title, *item.paragraphs)))
        elif isinstance(item, TableItem):
            parts.extend(filter(None, (item.title, *item.columns)))
            parts.extend(cell for row in item.rows for cell in row)
        elif isinstance(item, SignatureItem):
            parts.append(item.label)
    return "\n".join(parts)
