"""/api/v1/templates: who may do what, versions, preview, values; bad input stores nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.db import commit
from connector.models import (
    Document,
    Envelope,
    Org,
    Role,
    Team,
    TeamMember,
    Template,
    TemplateVersion,
    User,
)
from connector.orgs import create_api_key
from connector.templates.demo import demo_definition
from tests.factories import bearer, make_org
from tests.pdfs import blank_pdf, bomb_pdf, encrypted_pdf, form_pdf

SAAS = demo_definition("saas_amendment.yaml")
TELEHEALTH = demo_definition("telehealth_consent.yaml")
SAAS_VALUES = {
    "plan": "enterprise",
    "seats": 10,
    "customer_company": "Initech",
    "customer_name": "Peter",
    "customer_email": "peter@initech.test",
    "effective_date": "2026-12-01",
}


class Tenant:
    """An org with an admin, an agent in Support, a compliance officer, and their keys."""

    def __init__(self, session: Session, slug: str | None = None) -> None:
        self.org = make_org(session, slug=slug)
        self.support = Team(org_id=self.org.id, name="Support")
        self.sales = Team(org_id=self.org.id, name="Sales")
        agent = User(org_id=self.org.id, email="agent@x.test", name="Agent", role="agent")
        session.add_all([self.support, self.sales, agent])
        session.flush()
        session.add(TeamMember(team_id=self.support.id, user_id=agent.id))
        self.keys = {
            "admin": create_api_key(session, org=self.org, role=Role.ADMIN)[1],
            "agent": create_api_key(session, org=self.org, role=Role.AGENT, user=agent)[1],
            "compliance": create_api_key(session, org=self.org, role=Role.COMPLIANCE)[1],
        }
        commit(session)

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.keys[role])


@pytest.fixture
def acme(session: Session) -> Tenant:
    return Tenant(session, "acme")


def create(client: FlaskClient, acme: Tenant, definition: dict = SAAS, **extra: Any) -> Any:
    body = {"name": "Amendment", "definition": definition, **extra}
    return client.post("/api/v1/templates", json=body, headers=acme.headers("admin"))


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def test_an_admin_creates_and_reads_a_template(client: FlaskClient, acme: Tenant) -> None:
    created = create(client, acme, team_id=str(acme.support.id))
    assert created.status_code == 201, created.json
    assert (created.json["version"], created.json["kind"]) == (1, "document")
    got = client.get(f"/api/v1/templates/{created.json['id']}", headers=acme.headers("compliance"))
    assert got.json["definition"]["title"] == "SaaS subscription upgrade amendment"


def test_only_admins_edit(client: FlaskClient, acme: Tenant) -> None:
    template_id = create(client, acme).json["id"]
    for role in ("agent", "compliance"):
        posted = client.post(
            "/api/v1/templates", json={"name": "x", "definition": SAAS}, headers=acme.headers(role)
        )
        patched = client.patch(
            f"/api/v1/templates/{template_id}", json={"name": "x"}, headers=acme.headers(role)
        )
        assert (posted.status_code, patched.status_code) == (403, 403), role
        assert patched.mimetype == "application/problem+json"


def test_a_locked_clause_cannot_be_changed_by_an_agent_anywhere(
    client: FlaskClient, acme: Tenant
) -> None:
    template_id = create(client, acme).json["id"]
    changed = json.loads(json.dumps(SAAS))
    changed["body"][1]["text"] = "Customer owes nothing."
    response = client.patch(
        f"/api/v1/templates/{template_id}",
        json={"definition": changed},
        headers=acme.headers("agent"),
    )
    assert response.status_code == 403
    current = client.get(f"/api/v1/templates/{template_id}", headers=acme.headers("agent")).json
    assert current["version"] == 1
    assert "Customer owes nothing." not in json.dumps(current["definition"])


def test_a_locked_field_cannot_be_changed_by_an_agent(client: FlaskClient, acme: Tenant) -> None:
    template_id = create(client, acme).json["id"]
    for route in ("preview", "validate-values"):
        url = f"/api/v1/templates/{template_id}/{route}"
        cheaper = client.post(
            url, json={"fields": {**SAAS_VALUES, "unit_price": 1}}, headers=acme.headers("agent")
        )
        same = client.post(
            url,
            json={"fields": {**SAAS_VALUES, "unit_price": "49.00"}},
            headers=acme.headers("agent"),
        )
        by_admin = client.post(
            url, json={"fields": {**SAAS_VALUES, "unit_price": 1}}, headers=acme.headers("admin")
        )
        assert cheaper.status_code == 403, route
        assert "unit_price" in cheaper.json["detail"]
        assert (same.status_code, by_admin.status_code) == (200, 200), route


def test_a_new_version_never_changes_sent_envelopes(
    client: FlaskClient, acme: Tenant, session: Session
) -> None:
    template_id = create(client, acme).json["id"]
    v1 = session.scalars(select(TemplateVersion).where(TemplateVersion.version == 1)).one()
    envelope = Envelope(org_id=acme.org.id, template_version_id=v1.id, status="sent")
    session.add(envelope)
    commit(session)
    changed = json.loads(json.dumps(SAAS))
    changed["body"][1]["text"] = "Revised parties clause for {{ customer_company }}."

    patched = client.patch(
        f"/api/v1/templates/{template_id}",
        json={"definition": changed},
        headers=acme.headers("admin"),
    )
    renamed = client.patch(
        f"/api/v1/templates/{template_id}", json={"name": "Renamed"}, headers=acme.headers("admin")
    )

    assert patched.json["version"] == 2
    assert renamed.json["version"] == 2, "renaming makes no new version"
    versions = client.get(
        f"/api/v1/templates/{template_id}/versions", headers=acme.headers("admin")
    ).json["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["definition"]["body"][1]["text"] == SAAS["body"][1]["text"]
    session.refresh(envelope)
    session.refresh(v1)
    assert envelope.template_version_id == v1.id
    assert v1.definition["body"][1]["text"] == SAAS["body"][1]["text"]


def test_agents_see_their_teams_templates(client: FlaskClient, acme: Tenant) -> None:
    create(client, acme, name="Support only", team_id=str(acme.support.id))
    sales = create(client, acme, name="Sales only", team_id=str(acme.sales.id)).json["id"]
    create(client, acme, name="Everyone")

    agent_sees = client.get("/api/v1/templates", headers=acme.headers("agent")).json["items"]
    admin_sees = client.get("/api/v1/templates", headers=acme.headers("admin")).json["items"]
    assert [t["name"] for t in agent_sees] == ["Everyone", "Support only"]
    assert len(admin_sees) == 3
    assert (
        client.get(f"/api/v1/templates/{sales}", headers=acme.headers("agent")).status_code == 404
    )


def test_another_orgs_templates_do_not_exist(
    client: FlaskClient, acme: Tenant, session: Session
) -> None:
    template_id = create(client, acme).json["id"]
    other = Tenant(session, "globex")
    assert (
        client.get(f"/api/v1/templates/{template_id}", headers=other.headers("admin")).status_code
        == 404
    )
    assert client.get("/api/v1/templates", headers=other.headers("admin")).json["items"] == []
    assert (
        client.post(
            f"/api/v1/templates/{template_id}/preview", json={}, headers=other.headers("admin")
        ).status_code
        == 404
    )


def test_preview_follows_the_plan(client: FlaskClient, acme: Tenant) -> None:
    template_id = create(client, acme).json["id"]
    url = f"/api/v1/templates/{template_id}/preview"

    enterprise = client.post(url, json={"fields": SAAS_VALUES}, headers=acme.headers("agent"))
    pro = client.post(
        url, json={"fields": {**SAAS_VALUES, "plan": "pro"}}, headers=acme.headers("agent")
    )

    assert enterprise.mimetype == "application/pdf"
    assert "2. Service level" in pdf_text(enterprise.data)
    assert "Service level" not in pdf_text(pro.data)
    assert "monthly total of $490.00" in pdf_text(enterprise.data)
    assert "DRAFT" in pdf_text(pro.data)


def test_the_guardian_signature_is_required_only_for_minors(
    client: FlaskClient, acme: Tenant
) -> None:
    template_id = create(client, acme, definition=TELEHEALTH).json["id"]
    base = {"patient_name": "Ana", "patient_email": "ana@x.test", "clinician": "Dr. Who"}

    def check(age: int) -> dict:
        url = f"/api/v1/templates/{template_id}/validate-values"
        return client.post(
            url, json={"fields": {**base, "patient_age": age}}, headers=acme.headers("agent")
        ).json

    minor, adult = check(16), check(30)
    assert {
        "field": "guardian_signature",
        "label": "Parent or guardian signature",
        "filled_by": "guardian",
    } in minor["missing"]
    assert "guardian" in minor["roles"]
    assert minor["valid"] is True, "everything the sender fills is there"
    assert "guardian_signature" not in {m["field"] for m in adult["missing"]}
    assert "guardian" not in adult["roles"]

    url = f"/api/v1/templates/{template_id}/preview"
    minor_pdf = client.post(
        url, json={"fields": {**base, "patient_age": 16}}, headers=acme.headers("agent")
    ).data
    adult_pdf = client.post(
        url, json={"fields": {**base, "patient_age": 30}}, headers=acme.headers("agent")
    ).data
    assert "Parent or guardian" in pdf_text(minor_pdf)
    assert "Parent or guardian" not in pdf_text(adult_pdf)


def test_validate_values_reports_missing_and_invalid(client: FlaskClient, acme: Tenant) -> None:
    template_id = create(client, acme).json["id"]
    response = client.post(
        f"/api/v1/templates/{template_id}/validate-values",
        json={"fields": {"plan": "platinum", "seats": 3}},
        headers=acme.headers("agent"),
    )
    assert response.status_code == 200
    assert response.json["valid"] is False
    assert response.json["invalid"] == [
        {"field": "plan", "message": "'platinum' is not one of the options"}
    ]
    assert {"customer_company", "effective_date"} <= {m["field"] for m in response.json["missing"]}
    assert response.json["values"]["seats"] == 3


@pytest.mark.parametrize(
    ("fields", "status", "detail"),
    [
        ({"nope": 1}, 422, "fields.nope: unknown field"),
        ({"total": 5}, 422, "fields.total: is calculated and cannot be set"),
        ({"po_number": "PO-1"}, 422, "fields.po_number: is filled by the customer when signing"),
        ({"seats": "many"}, 422, "fields.seats: must be a number"),
    ],
)
def test_preview_refuses_bad_values(
    client: FlaskClient, acme: Tenant, fields: dict, status: int, detail: str
) -> None:
    template_id = create(client, acme).json["id"]
    response = client.post(
        f"/api/v1/templates/{template_id}/preview",
        json={"fields": fields},
        headers=acme.headers("admin"),
    )
    assert response.status_code == status
    assert response.json["detail"] == detail


def _broken(definition_change: Any) -> dict:
    broken = json.loads(json.dumps(SAAS))
    definition_change(broken)
    return broken


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        (_broken(lambda d: d["fields"][0].update(type="blob")), "fields[0].type"),
        (_broken(lambda d: d["body"][1].update(text="{{ ''.__class__ }}")), "body[1].text"),
        (_broken(lambda d: d["body"][4].update(when="plann == 'x'")), "body[4].when"),
        (_broken(lambda d: d["fields"][6].update(formula="total + 1")), "fields"),
        (_broken(lambda d: d["fields"][3].update(when="().__class__")), "fields[3].when"),
    ],
)
def test_bad_definitions_are_422_and_store_nothing(
    client: FlaskClient, acme: Tenant, session: Session, definition: dict, path: str
) -> None:
    response = create(client, acme, definition=definition)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["path"] == path
    assert count(session, Template) == 0


def test_malformed_bodies(client: FlaskClient, acme: Tenant, session: Session) -> None:
    headers = {**acme.headers("admin"), "Content-Type": "application/json"}
    not_json = client.post("/api/v1/templates", data=b'{"name": ', headers=headers)
    not_utf8 = client.post("/api/v1/templates", data=b'{"name": "\xff"}', headers=headers)
    plain = client.post(
        "/api/v1/templates",
        data=b"name",
        headers={**acme.headers("admin"), "Content-Type": "text/plain"},
    )
    assert (not_json.status_code, not_utf8.status_code, plain.status_code) == (400, 400, 415)
    assert count(session, Template) == 0


def test_a_yaml_definition_uploads(client: FlaskClient, acme: Tenant) -> None:
    from connector.templates.demo import FOLDER

    yaml_bytes = (FOLDER / "telehealth_consent.yaml").read_bytes()
    response = client.post(
        "/api/v1/templates",
        data={"name": "Consent", "definition": (io.BytesIO(yaml_bytes), "consent.yaml")},
        headers=acme.headers("admin"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert response.json["definition"]["title"] == "Telehealth consent form"


def test_invalid_utf8_yaml_is_named(client: FlaskClient, acme: Tenant, session: Session) -> None:
    response = client.post(
        "/api/v1/templates",
        data={"name": "Consent", "definition": (io.BytesIO(b"title: \xff\xfe"), "c.yaml")},
        headers=acme.headers("admin"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["detail"].startswith("definition: is not UTF-8")
    assert count(session, Template) == 0


def upload_pdf(client: FlaskClient, acme: Tenant, pdf: bytes, **form: Any) -> Any:
    return client.post(
        "/api/v1/templates",
        data={"name": "Order form", "pdf": (io.BytesIO(pdf), "order.pdf"), **form},
        headers=acme.headers("admin"),
        content_type="multipart/form-data",
    )


def test_a_pdf_forms_fields_become_template_fields(
    client: FlaskClient, acme: Tenant, session: Session
) -> None:
    created = upload_pdf(client, acme, form_pdf())

    assert created.status_code == 201, created.json
    assert created.json["kind"] == "pdf"
    fields = {f["key"]: f for f in created.json["definition"]["fields"]}
    assert fields["company"]["type"] == "text"
    assert fields["company"]["required"] is True
    assert fields["rush"]["type"] == "checkbox"
    assert fields["plan"]["options"] == ["basic", "premium"]
    document = session.scalars(select(Document)).one()
    assert document.kind == "base_pdf"

    preview = client.post(
        f"/api/v1/templates/{created.json['id']}/preview",
        json={"fields": {"company": "Initech <b>", "plan": "premium", "rush": True}},
        headers=acme.headers("agent"),
    )
    assert preview.status_code == 200
    reader = PdfReader(io.BytesIO(preview.data))
    assert "DRAFT" in reader.pages[0].extract_text()
    assert "Initech <b>" in preview.data.decode("latin-1") or "Initech <b>" in pdf_text(
        preview.data
    )


@pytest.mark.parametrize(
    ("pdf", "detail"),
    [
        (b"%PDF-1.7\n garbage that is no PDF at all", "damaged"),
        (b"GIF89a not a pdf", "not a PDF"),
        (encrypted_pdf(), "encrypted"),
        (blank_pdf(501), "501 pages"),
        (bomb_pdf(300), "compression bomb"),
    ],
)
def test_unacceptable_pdfs_are_422_and_store_nothing(
    client: FlaskClient, acme: Tenant, session: Session, pdf: bytes, detail: str
) -> None:
    response = upload_pdf(client, acme, pdf)
    assert response.status_code == 422
    assert detail in response.json["detail"]
    assert response.json["detail"].startswith("pdf: ")
    assert (count(session, Template), count(session, Document)) == (0, 0)


def test_an_oversized_upload_is_413(
    client: FlaskClient, acme: Tenant, session: Session, app: Any
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = upload_pdf(client, acme, b"%PDF-1.7\n" + b"0" * (limit + 1))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert count(session, Template) == 0


def test_the_demo_org_has_both_templates(client: FlaskClient, app: Any, session: Session) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "seed"])
    output = runner.invoke(args=["demo", "seed"]).output
    org = session.scalars(select(Org).where(Org.slug == "demo")).one()
    names = session.scalars(
        select(Template.name).where(Template.org_id == org.id).order_by(Template.name)
    ).all()
    assert names == ["SaaS subscription upgrade amendment", "Telehealth consent form"]
    agent_key = output.split("agent: agent@demo.countersign.test  API key: ")[1].split()[0]
    visible = client.get("/api/v1/templates", headers=bearer(agent_key)).json["items"]
    assert len(visible) == 2


def png(width: int = 64, height: int = 32) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (39, 80, 196)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_org_logo_is_printed_in_the_header(client: FlaskClient, acme: Tenant) -> None:
    template_id = create(client, acme).json["id"]
    url = f"/api/v1/templates/{template_id}/preview"
    without = client.post(url, json={"fields": SAAS_VALUES}, headers=acme.headers("admin")).data

    uploaded = client.put(
        "/api/v1/org/logo",
        data={"logo": (io.BytesIO(png()), "logo.png")},
        headers=acme.headers("admin"),
        content_type="multipart/form-data",
    )
    with_logo = client.post(url, json={"fields": SAAS_VALUES}, headers=acme.headers("admin")).data

    assert uploaded.status_code == 200
    images = lambda pdf: len(PdfReader(io.BytesIO(pdf)).pages[0].images)  # noqa: E731
    assert (images(without), images(with_logo)) == (0, 1)


def test_a_logo_must_be_a_small_image_set_by_an_admin(client: FlaskClient, acme: Tenant) -> None:
    def put(data: bytes, role: str = "admin") -> Any:
        return client.put(
            "/api/v1/org/logo",
            data={"logo": (io.BytesIO(data), "logo.png")},
            headers=acme.headers(role),
            content_type="multipart/form-data",
        )

    assert put(png(), role="agent").status_code == 403
    assert put(b"<svg/>").json["detail"] == "logo: is not a PNG or JPEG image"
    assert put(png(2500, 10)).json["detail"] == "logo: must be at most 2000 pixels wide and high"
