# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Every upload checks the object and the caller's role before its body is read (hardening issue, point 11): a caller
without the right (or a missing object) sending a large multipart body gets the same 404/403 as always and Django's
multipart parser never runs, while the caller with the right still gets the clean 400/415/422 for a bad body."""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, encode_multipart

from accounts.models import Role
from supervision.inspections import rectification, sync
from tests.afterschool.admission_support import id_no, register_xlsx
from tests.conftest import TOWN_B, assert_error, make_user, region
from tests.institutions.helpers import make_institution
from tests.supervision.inspection_fixtures import (  # noqa: F401
    NEARBY,
    photo_bytes,
    premises,
    record,
    sha,
    team,
    visit,
)

pytestmark = pytest.mark.django_db

PHOTO_UUID = "6f1c9a7e-1111-4111-8111-111111111111"
BIG = 3 * 1024 * 1024  # a 3 MB file: parsing it would cost the server real work


@contextmanager
def body_parses():
    """Counts the runs of Django's multipart parser (ninja's File/Form parameters and request.FILES both use it)."""
    calls: list[str] = []
    original = MultiPartParser.parse

    def spy(self):
        calls.append("parse")
        return original(self)

    with mock.patch.object(MultiPartParser, "parse", spy):
        yield calls


def big_body(**fields) -> bytes:
    parts = {"file": SimpleUploadedFile("big.jpg", b"\xff" * BIG, content_type="image/jpeg"), **fields}
    return encode_multipart(BOUNDARY, parts)


def headers_over_8kb() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        f"X-Padding: {'a' * 9000}\r\n\r\nzz\r\n--{BOUNDARY}--\r\n"
    ).encode()


def send(api, url: str, body: bytes):
    return api.raw("post", url, body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def refused_unread(api, url: str, status: int, code: str) -> dict:
    """The answer to a large body from someone without the right: `status`, and the body was never parsed."""
    with body_parses() as calls:
        response = send(api, url, big_body(sha256="0" * 64))
    error = assert_error(response, status, code)
    assert calls == [], f"{url}: the body was parsed before the caller was refused"
    return error


def parsed_answer(api, url: str, body: bytes, status: int, code: str) -> dict:
    """The caller with the right: the body is read (once) and a bad one answered cleanly."""
    with body_parses() as calls:
        response = send(api, url, body)
    error = assert_error(response, status, code)
    assert calls == ["parse"], calls
    return error


# --- Visit photos --------------------------------------------------------------------------------------------------


def test_a_visit_photo_is_checked_for_the_team_before_the_body_is_read(api_as, visit, team, inspector_b):
    url = f"inspections/{visit.pk}/photos/{PHOTO_UUID}"
    missing = refused_unread(api_as(team[0]), f"inspections/999999/photos/{PHOTO_UUID}", 404, "not_found")
    # Of the same town but not on the team; of another town: the same 404 as for a visit that does not exist.
    assert refused_unread(api_as(team[2]), url, 404, "not_found") == missing
    assert refused_unread(api_as(inspector_b), url, 404, "not_found") == missing
    bureau_b = make_user("乙镇科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    assert refused_unread(api_as(bureau_b), url, 404, "not_found") == missing
    # A team member: a malformed body is a clean 400, missing parts a 422 naming each, a good photo is stored.
    me = api_as(team[0])
    parsed_answer(me, url, headers_over_8kb(), 400, "request.bad_multipart")
    error = parsed_answer(me, url, encode_multipart(BOUNDARY, {"note": "x"}), 422, "request.invalid")
    assert set(error["fields"]) == {"sha256", "file"}
    content = photo_bytes()
    bad_hash = encode_multipart(BOUNDARY, {"sha256": "0" * 64, "file": SimpleUploadedFile("p.jpg", content)})
    parsed_answer(me, url, bad_hash, 422, "photo.hash_mismatch")
    good = encode_multipart(
        BOUNDARY, {"sha256": sha(content), "file": SimpleUploadedFile("p.jpg", content, content_type="image/jpeg")}
    )
    with body_parses() as calls:
        assert send(me, url, good).status_code == 201
    assert calls == ["parse"]
    assert visit.photos.filter(received=True).count() == 1


# --- Rectification evidence ------------------------------------------------------------------------------------------


@pytest.fixture
def open_order(visit, team):
    records = [
        record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}),
        record(visit, "answer", {"item_code": "PUB-1", "value": "no"}),
        record(visit, "finding", {"item_code": "PUB-1", "description": "未公示收费标准"}),
        record(visit, "checkout", {}),
    ]
    assert {r["status"] for r in sync.sync_batch(actor=team[0], records=records)} == {"applied"}
    finding = visit.findings.get()
    return rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准并拍照")


def test_rectification_evidence_is_checked_before_the_body_is_read(api_as, open_order, team):
    url = f"rectification-orders/{open_order.pk}/photos/{PHOTO_UUID}"
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=open_order.institution)
    stranger = make_user("他校员工", Role.INSTITUTION_STAFF, institution=make_institution("别家培训学校"))
    missing = refused_unread(api_as(staff), f"rectification-orders/999999/photos/{PHOTO_UUID}", 404, "not_found")
    # Another institution's staff: the same 404 as for an order that does not exist.
    assert refused_unread(api_as(stranger), url, 404, "not_found") == missing
    # The inspector sees the order but does not answer it.
    refused_unread(api_as(team[0]), url, 403, "permission_denied")
    # The institution: a malformed body is a clean 400, missing parts a 422, a good photo is stored.
    me = api_as(staff)
    parsed_answer(me, url, headers_over_8kb(), 400, "request.bad_multipart")
    error = parsed_answer(me, url, encode_multipart(BOUNDARY, {"note": "x"}), 422, "request.invalid")
    assert set(error["fields"]) == {"sha256", "file"}
    content = photo_bytes()
    good = encode_multipart(
        BOUNDARY, {"sha256": sha(content), "file": SimpleUploadedFile("e.jpg", content, content_type="image/jpeg")}
    )
    with body_parses() as calls:
        assert send(me, url, good).status_code == 201
    assert calls == ["parse"] and open_order.evidence.count() == 1


# --- Imports ---------------------------------------------------------------------------------------------------------


def test_the_registry_import_checks_the_role_before_the_body_is_read(
    api_as, bureau_admin, parent, inspector_a, school_admin_x, institution_staff
):
    url = "institutions/import"
    for who in (parent, inspector_a, school_admin_x, institution_staff):
        refused_unread(api_as(who), url, 403, "permission_denied")
    me = api_as(bureau_admin)
    parsed_answer(me, url, headers_over_8kb(), 400, "request.bad_multipart")
    error = parsed_answer(me, url, encode_multipart(BOUNDARY, {"note": "x"}), 422, "request.invalid")
    assert set(error["fields"]) == {"file"}
    not_a_sheet = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("a.xlsx", b"\x00\x01 not a workbook")})
    parsed_answer(me, url, not_a_sheet, 422, "import.not_a_spreadsheet")


def test_the_register_import_checks_the_role_before_the_body_is_read(
    api_as, bureau_staff, parent, inspector_a, school_admin_x, institution_staff
):
    url = "afterschool/admission-register/import"
    for who in (parent, inspector_a, school_admin_x, institution_staff):
        refused_unread(api_as(who), url, 403, "permission_denied")
    me = api_as(bureau_staff)
    parsed_answer(me, url, headers_over_8kb(), 400, "request.bad_multipart")
    error = parsed_answer(me, url, encode_multipart(BOUNDARY, {"note": "x"}), 422, "request.invalid")
    assert set(error["fields"]) == {"file"}
    parsed_answer(me, url, big_body(), 415, "register.not_xlsx")
    sheet = register_xlsx([["张三", id_no(7), "区法院判决", "2025-06-01"]])
    with body_parses() as calls:
        response = send(me, url, encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("名单.xlsx", sheet)}))
    assert response.status_code == 200 and response.json()["added"] == 1
    assert calls == ["parse"]
