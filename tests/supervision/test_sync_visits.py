# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""A phone that works offline: assigned visits with what it needs, records synced in batches by client UUID, photos
uploaded by UUID and SHA-256, conflicts kept, bad records refused one by one."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supervision.models import ChecklistAnswer, Finding, Inspection, InspectionPhoto, VisitRecord
from tests.conftest import assert_error
from tests.factories import InspectionFactory
from tests.supervision.inspection_fixtures import (  # noqa: F401
    FAR,
    NEARBY,
    SEA,
    now_iso,
    photo_bytes,
    premises,
    record,
    sha,
    team,
    upload_photo,
    visit,
)

pytestmark = pytest.mark.django_db


def sync(client, records):
    r = client.post("inspections/sync", {"records": records})
    assert r.status_code == 200, r.content
    return [f["status"] for f in r.json()["results"]], r.json()["results"]


def test_the_phone_gets_what_it_needs_offline(api_as, visit, team):
    body = api_as(team[0]).get("inspections/assigned").json()
    [v] = body["visits"]
    assert v["id"] == visit.pk and v["institution"]["name"] == "敦仁美术培训学校"
    assert v["institution"]["latitude"] is not None and v["checklist_version_id"] == visit.checklist_version_id
    items = body["checklists"][str(visit.checklist_version_id)]
    assert len(items) == 24 and {"code", "answer_type", "public"} <= set(items[0])
    assert v["open_orders"] == [] and v["earlier_findings"] == []
    assert api_as(team[2]).get("inspections/assigned").json()["visits"] == []  # not on this team


def test_a_phone_records_offline_sends_twice_and_retries_a_lost_photo_ending_in_one_complete_visit(api_as, visit, team):
    phone = api_as(team[0])
    photo_1, photo_2 = photo_bytes((10, 200, 10)), photo_bytes((10, 10, 200))
    p1, p2 = str(uuid.uuid4()), str(uuid.uuid4())
    t = lambda minutes: now_iso(-timedelta(minutes=90 - minutes))  # noqa: E731 - the visit's timeline
    offline = [
        record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}, when=t(0)),
        record(visit, "answer", {"item_code": "LIC-1", "value": "yes"}, when=t(5)),
        record(visit, "answer", {"item_code": "PUB-1", "value": "no", "comment": "未公示收费标准"}, when=t(10)),
        record(visit, "finding", {"item_code": "PUB-1", "description": "前台未公示收费项目和标准"}, when=t(11)),
        record(visit, "note", {"text": "负责人在场，配合检查", "photo_uuids": [p1, p2]}, when=t(20)),
        record(visit, "acknowledge", {"name": "王校长"}, when=t(30)),
        record(visit, "checkout", {}, when=t(31)),
    ]
    statuses, _ = sync(phone, offline)
    assert statuses == ["applied"] * 7
    statuses, _ = sync(phone, offline)  # the answer was lost on the way: the phone sends it all again
    assert statuses == ["already_applied"] * 7

    detail = phone.get(f"inspections/{visit.pk}").json()
    assert detail["status"] == "awaiting_photos" and sorted(detail["missing_photos"]) == sorted([p1, p2])

    assert upload_photo(phone, visit.pk, p1, photo_1).status_code == 201
    # The second upload breaks half-way: the bytes that arrive do not match the hash; nothing is stored.
    broken = upload_photo(phone, visit.pk, p2, photo_2[:200], digest=sha(photo_2))
    assert_error(broken, 422, "photo.hash_mismatch")
    assert phone.get(f"inspections/{visit.pk}").json()["missing_photos"] == [p2]
    retried = upload_photo(phone, visit.pk, p2, photo_2)
    assert retried.status_code == 201 and retried.json()["inspection_status"] == "complete"
    again = upload_photo(phone, visit.pk, p2, photo_2)  # the retry's answer was lost too: accepted, no copy
    assert again.status_code == 200 and again.json()["stored"] is False

    visit.refresh_from_db()
    assert visit.status == "complete" and visit.completed_at and visit.acknowledged_by == "王校长"
    assert visit.checkin_distance_m is not None and visit.checkin_distance_m < 50 and not visit.checkin_flagged
    assert VisitRecord.objects.filter(inspection=visit).count() == 7
    assert ChecklistAnswer.objects.filter(inspection=visit).count() == 2
    assert Finding.objects.filter(inspection=visit).count() == 1
    assert InspectionPhoto.objects.filter(inspection=visit, received=True).count() == 2
    assert Inspection.objects.filter(institution=visit.institution).exclude(status="cancelled").count() == 1


def test_the_same_batch_three_times_leaves_one_copy_of_each(api_as, visit, team):
    phone = api_as(team[0])
    batch = [record(visit, "answer", {"item_code": code, "value": "yes"}) for code in ("LIC-1", "LIC-2", "LIC-3")]
    for expected in ("applied", "already_applied", "already_applied"):
        assert sync(phone, batch)[0] == [expected] * 3
    assert VisitRecord.objects.count() == 3 and ChecklistAnswer.objects.count() == 3


def test_a_checkin_far_from_the_premises_is_flagged_not_refused(api_as, visit, team):
    statuses, _ = sync(api_as(team[0]), [record(visit, "checkin", {"latitude": FAR[0], "longitude": FAR[1]})])
    assert statuses == ["applied"]
    visit.refresh_from_db()
    assert visit.checkin_flagged and 900 < visit.checkin_distance_m < 1100


def test_an_edit_on_a_stale_version_is_a_conflict_and_overwrites_nothing(api_as, visit, team):
    mine, theirs = api_as(team[0]), api_as(team[1])
    sync(mine, [record(visit, "answer", {"item_code": "PUB-1", "value": "yes"})])
    assert sync(theirs, [record(visit, "answer", {"item_code": "PUB-1", "value": "no"}, base_version=1)])[0] == [
        "applied"
    ]
    statuses, results = sync(mine, [record(visit, "answer", {"item_code": "PUB-1", "value": "na"}, base_version=1)])
    assert statuses == ["conflict"] and results[0]["server"] == {"item_code": "PUB-1", "value": "no", "version": 2}
    answer = ChecklistAnswer.objects.get(inspection=visit, item__code="PUB-1")
    assert answer.value == "no" and answer.version == 2  # nothing overwritten
    detail = mine.get(f"inspections/{visit.pk}").json()
    assert detail["conflicts"][0]["payload"]["value"] == "na"  # both kept for review
    # A first answer sent twice by two phones without a base: the second is a conflict too.
    sync(mine, [record(visit, "answer", {"item_code": "LIC-1", "value": "yes"})])
    assert sync(theirs, [record(visit, "answer", {"item_code": "LIC-1", "value": "no"})])[0] == ["conflict"]


def test_bad_records_are_refused_one_by_one_and_the_good_ones_kept(api_as, visit, team):
    phone = api_as(team[0])
    good = record(visit, "answer", {"item_code": "LIC-1", "value": "yes"})
    bad = [
        {**record(visit, "note", {"text": "x"}), "uuid": "not-a-uuid"},
        record(visit, "note", {"text": "未来"}, when=now_iso(timedelta(minutes=30))),
        record(visit, "checkin", {"latitude": SEA[0], "longitude": SEA[1]}),
        record(visit, "answer", {"item_code": "LIC-1", "value": 3}),
        record(visit, "answer", {"item_code": "NOPE-9", "value": "yes"}),
        record(visit, "answer", {"item_code": "STF-1", "value": "many"}),
        record(visit, "answer", {"item_code": "LIC-2", "value": ["yes"]}),  # a list is no answer (and not hashable)
        {**record(visit, "note", {"text": "别人的检查"}), "inspection_id": visit.pk + 999},
        record(visit, "checkout", {}),
    ]
    statuses, results = sync(phone, [bad[0], good, *bad[1:]])
    assert statuses[1] == "applied" and statuses.count("rejected") == len(bad)
    codes = [r["code"] for r in results if r["status"] == "rejected"]
    assert codes == [
        "sync.bad_uuid",
        "sync.time_in_future",
        "sync.coordinates_outside_district",
        "sync.answer_wrong_type",
        "sync.unknown_item",
        "sync.answer_wrong_type",
        "sync.answer_wrong_type",
        "not_found",
        "sync.checkout_before_checkin",
    ]
    assert all(r["message"] for r in results if r["status"] == "rejected")
    en = api_as(team[0], lang="en").post("inspections/sync", {"records": [bad[2]]}).json()["results"][0]
    assert "Fuling" in en["message"]
    assert VisitRecord.objects.count() == 1  # only the good one, and it is whole


def test_a_batch_of_201_is_refused_whole_with_a_clear_error(api_as, visit, team):
    batch = [record(visit, "note", {"text": f"第{i}条"}) for i in range(201)]
    err = assert_error(api_as(team[0]).post("inspections/sync", {"records": batch}), 413, "sync.batch_too_large")
    assert "200" in err["message"]
    assert VisitRecord.objects.count() == 0


def test_a_uuid_reused_for_other_content(api_as, visit, team):
    phone = api_as(team[0])
    first = record(visit, "note", {"text": "一"})
    sync(phone, [first])
    assert sync(phone, [{**first, "data": {"text": "二"}}])[1][0]["code"] == "sync.uuid_reused"


def test_photos_by_uuid_same_content_again_no_copy_other_content_409(api_as, visit, team):
    phone = api_as(team[0])
    pid, content = str(uuid.uuid4()), photo_bytes()
    assert upload_photo(phone, visit.pk, pid, content).status_code == 201
    assert upload_photo(phone, visit.pk, pid, content).status_code == 200
    assert_error(upload_photo(phone, visit.pk, pid, photo_bytes((1, 2, 3))), 409, "photo.uuid_taken")
    assert_error(upload_photo(phone, visit.pk, "nope", content), 422, "sync.bad_uuid")
    assert_error(upload_photo(api_as(team[2]), visit.pk, str(uuid.uuid4()), content), 404, "not_found")
    assert InspectionPhoto.objects.count() == 1


def test_a_batch_costs_a_fixed_number_of_queries(api_as, visit, team):
    phone = api_as(team[0])

    def queries(n):
        batch = [record(visit, "note", {"text": f"记录{i}"}) for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            sync(phone, batch)
        return len(ctx.captured_queries)

    small, large = queries(10), queries(100)
    assert large <= small + 2, (small, large)  # SQLite splits a bulk insert of many rows in two


def test_visits_of_others_answer_404(api_as, visit, team, inspector_b, institution_staff, bureau_staff):
    assert_error(api_as(inspector_b).get(f"inspections/{visit.pk}"), 404, "not_found")
    assert_error(api_as(institution_staff).get(f"inspections/{visit.pk}"), 404, "not_found")
    assert_error(api_as(team[2]).get(f"inspections/{visit.pk}"), 404, "not_found")
    assert api_as(bureau_staff).get(f"inspections/{visit.pk}").status_code == 200
    _, results = sync(api_as(inspector_b), [record(visit, "note", {"text": "x"})])
    assert results[0]["code"] == "not_found"


def test_the_phone_gets_earlier_findings_and_open_orders_of_the_period(api_as, visit, team):
    """A follow-up visit of an institution already visited: the phone carries the earlier findings and the orders
    still open, and only the visits of the period it asks for."""
    from datetime import date

    from supervision.inspections import rectification

    phone = api_as(team[0])
    sync(phone, [
        record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}),
        record(visit, "finding", {"item_code": "PUB-1", "description": "前台未公示收费项目和标准"}),
        record(visit, "checkout", {}),
    ])  # fmt: skip
    finding = visit.findings.get()
    order = rectification.order_issue(actor=team[0], finding_id=finding.pk, evidence_required="公示收费标准")
    again = InspectionFactory(
        institution=visit.institution, due_by=date(2027, 1, 31), origin="complaint", inspectors=[team[0]]
    )
    [v] = phone.get("inspections/assigned").json()["visits"]  # the first visit is complete: no longer assigned
    assert v["id"] == again.pk
    assert [o["id"] for o in v["open_orders"]] == [order.pk] and v["open_orders"][0]["status"] == "open"
    assert [f["description"] for f in v["earlier_findings"]] == ["前台未公示收费项目和标准"]
    assert v["earlier_findings"][0]["inspection_id"] == visit.pk
    assert phone.get("inspections/assigned", {"date_from": "2027-02-01"}).json()["visits"] == []
    assert phone.get("inspections/assigned", {"date_to": "2026-12-31"}).json()["visits"] == []
    assert (
        len(phone.get("inspections/assigned", {"date_from": "2027-01-01", "date_to": "2027-01-31"}).json()["visits"])
        == 1
    )


def test_a_phone_clock_a_few_minutes_ahead_is_within_the_skew(api_as, visit, team):
    """Up to 10 minutes ahead of the server is clock skew, accepted; beyond, the record is refused with a reason."""
    phone = api_as(team[0])
    statuses, _ = sync(phone, [record(visit, "note", {"text": "快 9 分钟"}, when=now_iso(timedelta(minutes=9)))])
    assert statuses == ["applied"]
    _, [fate] = sync(phone, [record(visit, "note", {"text": "快 11 分钟"}, when=now_iso(timedelta(minutes=11)))])
    assert fate["code"] == "sync.time_in_future" and "10" in fate["message"]


def test_each_change_of_a_visits_state_is_one_audit_event_from_to(api_as, visit, team):
    """assigned → in progress (check-in), → awaiting photos (check-out with a photo missing), → complete (the photo
    arrives): one `inspection.status` event each, by the inspector who caused it; an edit that changes no state
    writes none."""
    from core.models import AuditEvent

    phone = api_as(team[0])
    p1 = str(uuid.uuid4())
    sync(phone, [record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]})])
    sync(phone, [record(visit, "answer", {"item_code": "LIC-1", "value": "yes"})])
    sync(phone, [record(visit, "note", {"text": "现场照片", "photo_uuids": [p1]}), record(visit, "checkout", {})])
    assert upload_photo(phone, visit.pk, p1, photo_bytes()).status_code == 201
    events = AuditEvent.objects.filter(verb="inspection.status", object_id=str(visit.pk)).order_by("id")
    assert [(e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("assigned", "in_progress", team[0].pk),
        ("in_progress", "awaiting_photos", team[0].pk),
        ("awaiting_photos", "complete", team[0].pk),
    ]
