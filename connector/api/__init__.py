"""The REST API at /api/v1: request validation and the OpenAPI 3.1 document from one schema.

Schemas are pydantic models; spectree validates requests against them and writes the OpenAPI
document from the same models (docs/api.md says why spectree).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request
from flask.typing import ResponseReturnValue
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from connector import __version__
from connector.api.schemas import ProblemOut
from connector.problems import Problem

API_PREFIX = "/api/v1"


def _validation_problem(
    req: Any, resp: Any, error: Exception | None, instance: Any, model_adapter: Any
) -> None:
    if error is None:
        return
    errors = [
        {"path": ".".join(str(p) for p in item.get("loc", ())), "message": item.get("msg", "")}
        for item in model_adapter.validation_errors(error)
    ]
    first = errors[0] if errors else {"path": "", "message": "invalid request"}
    raise Problem(
        422,
        "Invalid request",
        f"{first['path']}: {first['message']}" if first["path"] else first["message"],
        errors=errors,
    )


spec = SpecTree(
    "flask",
    title="Countersign API",
    version=__version__,
    description="Contract sending and e-signature inside the helpdesk and the CRM.",
    # Routes under this path are left out of the document: it is the document itself.
    path="api/v1/openapi.json",
    mode="strict",
    page_templates={},
    before=_validation_problem,
    validation_error_model=ProblemOut,
    # Schema names are the model names; keep them unique across the API.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(
            name="ApiKey",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="An API key: cs_…"
            ),
        )
    ],
    security={"ApiKey": []},
)

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)


@bp.before_request
def _require_json_body() -> None:
    """Bodies are JSON (or multipart uploads); a body that does not parse is a 400."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.content_length:
        return
    if request.mimetype == "multipart/form-data":
        return
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.")
    if request.get_json(silent=True) is None:
        raise Problem(400, "Malformed JSON", "The request body is not valid UTF-8 JSON.")


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """The OpenAPI 3.1 document, generated from the routes and their schemas."""
    return jsonify(spec.spec)


def init_app(app: Flask) -> None:
    from connector.api import crm, envelopes, me, signing, teams, templates  # noqa: F401 - routes

    app.register_blueprint(bp)
