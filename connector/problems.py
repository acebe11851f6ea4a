"""RFC 9457 problem details: every API error is one of these, with a sentence a user can act on."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error a client can fix (4xx) or a named server-side condition (503...)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors or []
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body["instance"] = request.path
        if self.errors:
            body["errors"] = self.errors
        if "request_id" in g:
            body["request_id"] = g.request_id
        return body


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"No {what} with that id in this organization.")


def problem_response(problem: Problem) -> Response:
    response = Response(json.dumps(problem.to_dict()), problem.status, mimetype=PROBLEM_JSON)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _handle_problem(problem: Problem) -> Response:
    return problem_response(problem)


def _handle_http(error: HTTPException) -> Response:
    if not _wants_problem():
        return error.get_response()  # type: ignore[return-value]
    problem = Problem(error.code or 500, error.name, error.description)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        problem.headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(problem)


def _handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _handle_http(error)
    log.exception("unhandled error")
    problem = Problem(
        500, "Internal Server Error", "Something failed on our side; the request id helps support."
    )
    if not _wants_problem():
        return Response("Internal Server Error", 500, mimetype="text/plain")
    return problem_response(problem)


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
