"""Filing a complaint through the API: the answer, the institution three ways, idempotency, bad input."""

import re

import pytest

from accounts.models import Role
from core.models import AuditEvent, Notification
from institutions.models import Institution
from supervision.complaints.services import clear_routing_cache, local_today
from supervision.models import Complaint
from tests.conftest import DISTRICT, TOWN_B, assert_error, make_user, region
from tests.factories import RoutingRuleFactory

from .conftest import complaint_body, file, new_key

pytestmark = pytest.mark.django_db


def test_a_parent_files_by_id_and_gets_a_tracking_number_to_read_out(api_as, parent, registered, staff_a, supervisor):
    response = file(api_as(parent), registered, child_grade="g3", latitude=29.71, longitude=107.39)
    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"TS-\d{8}-\d{4,}", body["tracking_number"])
    assert body["tracking_number"] == f"TS-{local_today():%Y%m%d}-{body['id']:04d}"
    assert body["status"] == "submitted"
    c = Complaint.objects.get(pk=body["id"])
    assert c.parent == parent and c.institution == registered and c.town_id == registered.town_id
    assert c.disclose_identity is False  # the default: the institution does not learn who complained
    assert c.sla_phase == "accept" and c.sla_due_on is not None
    event = AuditEvent.objects.get(verb="complaint.submit", object_id=str(c.pk))
    assert event.to_state == "submitted" and event.actor == parent
    second = file(api_as(parent), registered).json()
    assert second["tracking_number"] == f"TS-{local_today():%Y%m%d}-{second['id']:04d}"


def test_the_filing_stores_the_complaint_its_audit_event_and_the_handlers_inbox_row_together(
    api_as, parent, registered, staff_a
):
    """These rows are written in one transaction: each must carry the complaint's id and tracking number."""
    RoutingRuleFactory(town=registered.town, handler=staff_a)
    clear_routing_cache()
    body = file(api_as(parent), registered).json()
    event = AuditEvent.objects.get(verb="complaint.submit", object_id=str(body["id"]))
    assert event.data["tracking_number"] == body["tracking_number"]
    assert event.data["institution_id"] == registered.pk and event.data["photos"] == 0
    (row,) = Notification.objects.filter(kind="complaint.submitted", object_id=str(body["id"]))
    assert row.recipient == staff_a and row.title == f"新投诉：{body['tracking_number']}"
    assert row.object_type == "supervision.complaint" and row.payload == {"status": "submitted"}


def test_an_unrouted_filing_tells_every_district_supervisor(api_as, parent, registered, supervisor):
    deputy = make_user("钱副局长", Role.BUREAU_ADMIN, region=region(DISTRICT))
    body = file(api_as(parent), registered).json()
    rows = Notification.objects.filter(kind="complaint.submitted", object_id=str(body["id"]))
    assert sorted(r.recipient_id for r in rows) == sorted([supervisor.pk, deputy.pk])
    assert {r.title for r in rows} == {f"新投诉：{body['tracking_number']}"}
    assert all("待分派" in r.body for r in rows)


def test_the_tracking_number_is_the_filing_day_and_the_complaint_id_with_at_least_four_digits():
    from datetime import date

    from supervision.complaints.services import tracking_number

    assert tracking_number(date(2026, 11, 29), 42) == "TS-20261129-0042"
    assert tracking_number(date(2026, 11, 29), 123456) == "TS-20261129-123456"


def test_filing_by_the_token_scanned_from_the_poster(api_as, parent, registered):
    token = registered.tokens.get(revoked_at__isnull=True).token
    response = file(api_as(parent), verification_token=token)
    assert response.status_code == 201, response.content
    assert Complaint.objects.get(pk=response.json()["id"]).institution == registered


def test_an_unknown_token_is_a_clear_error(api_as, parent):
    error = assert_error(file(api_as(parent), verification_token="x" * 22), 422, "complaint.unknown_token")
    assert "verification_token" in error["fields"]


def test_an_institution_not_in_the_registry_becomes_an_unlicensed_record(api_as, parent, supervisor):
    before = Institution.objects.count()
    response = file(
        api_as(parent),
        new_institution_name="无名托管班",
        new_institution_address="李渡街道某小区 3 栋",
        town_id=region(TOWN_B).pk,
    )
    assert response.status_code == 201, response.content
    assert Institution.objects.count() == before + 1
    c = Complaint.objects.select_related("institution").get(pk=response.json()["id"])
    assert c.institution.status == "unlicensed" and c.institution.name == "无名托管班"
    assert c.institution_reported_as_new and not c.institution_confirmed
    assert c.town == region(TOWN_B)
    # No routing rule: the district queue, and the district supervisor hears of it.
    assert response.json()["routed_to_handler"] is False
    assert Notification.objects.filter(recipient=supervisor, kind="complaint.submitted").exists()


def test_a_new_institution_needs_name_address_and_town(api_as, parent):
    assert_error(file(api_as(parent), new_institution_name="某托管班"), 422, "complaint.new_institution_incomplete")


def test_the_same_idempotency_key_twice_gives_the_first_complaint_and_creates_nothing(api_as, parent, registered):
    api, key = api_as(parent), new_key()
    first = file(api, registered, key=key)
    again = file(api, registered, key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Complaint.objects.count() == 1
    assert AuditEvent.objects.filter(verb="complaint.submit").count() == 1


def test_the_same_key_for_a_different_complaint_is_refused(api_as, parent, registered):
    api, key = api_as(parent), new_key()
    file(api, registered, key=key)
    assert_error(file(api, registered, key=key, category="safety"), 409, "idempotency.key_reused")
    assert Complaint.objects.count() == 1


def test_keys_belong_to_their_parent(api_as, parent, other_parent, registered):
    key = new_key()
    assert file(api_as(parent), registered, key=key).status_code == 201
    assert file(api_as(other_parent), registered, key=key).status_code == 201
    assert Complaint.objects.count() == 2


def test_a_malformed_key_is_refused(api_as, parent, registered):
    assert_error(file(api_as(parent), registered, key="short"), 400, "idempotency.bad_key")


@pytest.mark.parametrize(
    ("extra", "status", "code", "field"),
    [
        ({"description": "太短了"}, 422, "request.invalid", "description"),
        ({"description": "长" * 3000}, 422, "request.invalid", "description"),
        ({"category": "no_such_category"}, 422, "complaint.unknown_category", "category"),
        ({"institution_id": 987654321}, 422, "complaint.unknown_institution", "institution_id"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, 422, "complaint.occurred_in_future", "occurred_at"),
        ({"occurred_at": "yesterday"}, 422, "request.invalid", "occurred_at"),
        ({"child_grade": "g13"}, 422, "request.invalid", "child_grade"),
        ({"latitude": 29.7}, 422, "complaint.coordinates", "latitude"),
    ],
)
def test_bad_input_gets_a_clear_error_and_files_nothing(api_as, parent, registered, extra, status, code, field):
    body = {"institution_id": registered.pk, **extra}
    error = assert_error(file(api_as(parent), **body), status, code)
    assert field in error["fields"], error
    assert Complaint.objects.count() == 0


def test_errors_speak_english_when_asked(api_as, parent, registered):
    error = assert_error(file(api_as(parent, lang="en"), registered, description="abc"), 422)
    assert "at least 10 characters" in error["fields"]["description"]  # the schema states the service's limits
    error = assert_error(file(api_as(parent, lang="en"), registered, description=" abc" + " " * 10), 422)
    assert "10 to 2000 characters" in error["message"]  # counted after trimming


def test_institution_given_twice_or_not_at_all(api_as, parent, registered):
    api = api_as(parent)
    assert_error(api.post("complaints", complaint_body()), 422, "complaint.institution_required")
    token = registered.tokens.get().token
    assert_error(file(api, registered, verification_token=token), 422, "complaint.institution_required")


def test_only_parents_file(api_as, staff_a, inst_staff, registered):
    for user in (staff_a, inst_staff):
        assert_error(file(api_as(user), registered), 403, "permission_denied")
    assert Complaint.objects.count() == 0


def test_malformed_json_and_non_objects(api_as, parent):
    api = api_as(parent)
    assert_error(api.raw("post", "complaints", b"{not json"), 400, "request.malformed_json")
    assert_error(api.raw("post", "complaints", b"[1, 2]"), 422, "request.invalid")
