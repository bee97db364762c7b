# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""What the institution sent with its answer to a rectification order, read through the API by whoever may see the
order (the inspector who verifies it in the phone app): the text, the list of photos and each photo's bytes; anyone
else gets the same 404 as for a missing order."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Role
from supervision.inspections import rectification
from tests.conftest import assert_error, make_user
from tests.supervision.inspection_fixtures import photo_bytes, premises, sha, team, visit  # noqa: F401
from tests.supervision.test_inspection_followup import do_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(api_as, visit, team):
    finding = do_visit(visit, team[0])[0]
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=finding.institution)
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准并拍照")
    client = api_as(staff)
    pid, content = str(uuid.uuid4()), photo_bytes((10, 120, 200))
    upload = client.client.post(
        f"/api/v1/rectification-orders/{order.pk}/photos/{pid}",
        {"sha256": sha(content), "file": SimpleUploadedFile("e.jpg", content, content_type="image/jpeg")},
        HTTP_AUTHORIZATION=f"Bearer {client.token}",
    )
    assert upload.status_code == 201, upload.content
    r = client.post(f"rectification-orders/{order.pk}/respond", {"response": "已在前台公示", "photo_uuids": [pid]})
    assert r.status_code == 200, r.content
    return order, pid, staff


def test_the_inspector_reads_the_answer_and_its_photos(api_as, answered, team):
    order, pid, staff = answered
    r = api_as(team[0]).get(f"rectification-orders/{order.pk}/evidence")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["response"] == "已在前台公示" and body["status"] == "answered" and body["responded_at"]
    assert [p["uuid"] for p in body["photos"]] == [pid]
    photo = api_as(team[0]).client.get(
        f"/api/v1/rectification-orders/{order.pk}/evidence/{pid}",
        HTTP_AUTHORIZATION=f"Bearer {api_as(team[0]).token}",
    )
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(photo.streaming_content))) as image:  # re-encoded on arrival, EXIF gone
        assert image.format == "JPEG"
    # The institution that answered reads its own evidence too.
    assert api_as(staff).get(f"rectification-orders/{order.pk}/evidence").status_code == 200


def test_others_get_404_for_the_evidence_and_its_photos(api_as, answered, inspector_b):
    order, pid, _staff = answered
    outsider = api_as(inspector_b)
    assert_error(outsider.get(f"rectification-orders/{order.pk}/evidence"), 404, "not_found")
    photo = outsider.client.get(
        f"/api/v1/rectification-orders/{order.pk}/evidence/{pid}", HTTP_AUTHORIZATION=f"Bearer {outsider.token}"
    )
    assert photo.status_code == 404


def test_a_bad_or_unknown_photo_id_is_404(api_as, answered, team):
    order, _pid, _staff = answered
    client = api_as(team[0])
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        r = client.client.get(
            f"/api/v1/rectification-orders/{order.pk}/evidence/{bad}", HTTP_AUTHORIZATION=f"Bearer {client.token}"
        )
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    assert_error(client.get("rectification-orders/999999/evidence"), 404, "not_found")
