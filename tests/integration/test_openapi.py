"""The OpenAPI document is generated from the code and is valid OpenAPI 3.1."""

from __future__ import annotations

from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator


def test_the_document_validates_as_openapi_3_1(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(document).validate()


def test_the_document_describes_the_routes_auth_and_errors(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json

    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["operationId"] == "getMe"
    assert set(me["responses"]) >= {"200", "401"}
    team = document["paths"]["/api/v1/teams/{team_id}"]["get"]
    assert team["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemOut"
    }
    assert "/api/v1/openapi.json" not in document["paths"]
