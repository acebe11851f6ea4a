"""Schemas shared by every API resource."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    path: str
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)
    request_id: str | None = None


class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)
