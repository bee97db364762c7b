# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Sync conflicts keep both copies for review; a reviewer (an inspector on the visit, or bureau staff of its town)
lists the open ones and settles each by keeping the server copy, taking the phone's copy or giving a merged value.
Audited; the same resolution again changes nothing, another one is a 409; others get 404."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from accounts.models import Role
from core.models import AuditEvent, Notification
from supervision.inspections import sync
from supervision.models import ChecklistAnswer, Inspection, VisitRecord
from tests.concurrency import race
from tests.conftest import DISTRICT, TOWN_A, TOWN_B, assert_error, make_user, region
from tests.supervision.inspection_fixtures import FAR, NEARBY, premises, record, team, visit  # noqa: F401


def send(user, records):
    return sync.sync_batch(actor=user, records=records)


@pytest.fixture
def conflict(visit, team):
    """team[0] answered PUB-1 "yes"; team[1] changed it to "no"; team[0], offline, changed it to "na" from version 1:
    a conflict, kept beside the server copy."""
    send(team[0], [record(visit, "answer", {"item_code": "PUB-1", "value": "yes"})])
    send(team[1], [record(visit, "answer", {"item_code": "PUB-1", "value": "no"}, base_version=1)])
    late = record(visit, "answer", {"item_code": "PUB-1", "value": "na", "comment": "现场复核"}, base_version=1)
    [fate] = send(team[0], [late])
    assert fate["status"] == "conflict"
    return VisitRecord.objects.get(client_uuid=late["uuid"])


def answer():
    return ChecklistAnswer.objects.get(item__code="PUB-1")


def resolve(client, rec, choice, **extra):
    return client.post(f"inspections/sync-conflicts/{rec.client_uuid}/resolve", {"choice": choice, **extra})


@pytest.mark.django_db
def test_reviewers_list_open_conflicts_with_both_copies_and_others_see_none(
    api_as, conflict, team, inspector_b, institution_staff, bureau_staff
):
    staff_a = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    staff_b = make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    supervisor = make_user("区督导", Role.BUREAU_ADMIN, region=region(DISTRICT))
    for user in (team[0], team[1], staff_a, supervisor, bureau_staff):
        body = api_as(user).get("inspections/sync-conflicts").json()
        assert [c["uuid"] for c in body["items"]] == [str(conflict.client_uuid)] and body["count"] == 1
    [row] = api_as(team[1]).get("inspections/sync-conflicts", {"inspection_id": conflict.inspection_id}).json()["items"]
    assert row["client"]["value"] == "na" and row["server_then"] == {"item_code": "PUB-1", "value": "no", "version": 2}
    assert row["server_now"]["value"] == "no" and row["author_id"] == team[0].pk and row["resolved"] is False
    assert row["kind"] == "answer" and row["institution_name"] == "敦仁美术培训学校"
    for user in (team[2], inspector_b, staff_b, institution_staff):
        assert api_as(user).get("inspections/sync-conflicts").json() == {"items": [], "count": 0}
        assert_error(resolve(api_as(user), conflict, "server"), 404, "not_found")
    assert answer().value == "no"
    # The visit list shows it is waiting for review.
    assert api_as(staff_a).get("inspections").json()["items"][0]["open_conflicts"] == 1


@pytest.mark.django_db
def test_taking_the_phones_copy_applies_it_audits_and_tells_the_author(api_as, conflict, team):
    visit_version = Inspection.objects.get(pk=conflict.inspection_id).version
    r = resolve(api_as(team[1]), conflict, "client", note="现场照片支持 na")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["resolved"] is True and body["resolution"] == "client" and body["resolved_by_id"] == team[1].pk
    assert body["resolved_value"] == {"item_code": "PUB-1", "value": "na"}
    a = answer()
    assert (a.value, a.comment, a.version, a.answered_by_id) == ("na", "现场复核", 3, team[0].pk)
    assert Inspection.objects.get(pk=conflict.inspection_id).version == visit_version + 1
    event = AuditEvent.objects.get(verb="inspection.conflict_resolve")
    assert (event.from_state, event.to_state, event.actor_id) == ("conflict", "client", team[1].pk)
    assert event.data["server_then"]["value"] == "no" and event.data["client"]["value"] == "na"
    assert Notification.objects.filter(recipient=team[0], kind="inspection.conflict_resolved").count() == 1
    # Gone from the open list, in the resolved one; the visit detail no longer shows it.
    client = api_as(team[0])
    assert client.get("inspections/sync-conflicts").json()["count"] == 0
    assert client.get("inspections/sync-conflicts", {"resolved": "true"}).json()["count"] == 1
    assert client.get(f"inspections/{conflict.inspection_id}").json()["conflicts"] == []


@pytest.mark.django_db
def test_the_same_resolution_again_changes_nothing_another_is_409(api_as, conflict, team, bureau_staff):
    client = api_as(bureau_staff)
    assert resolve(client, conflict, "server").status_code == 200
    again = resolve(client, conflict, "server")  # a retry whose answer was lost
    assert again.status_code == 200 and again.json()["resolution"] == "server"
    assert AuditEvent.objects.filter(verb="inspection.conflict_resolve").count() == 1
    err = assert_error(resolve(api_as(team[0]), conflict, "client"), 409, "conflict.already_resolved")
    assert err["message"]
    assert_error(resolve(client, conflict, "merged", value="yes"), 409, "conflict.already_resolved")
    a = answer()
    assert (a.value, a.version) == ("no", 2)  # the server copy kept, untouched


@pytest.mark.django_db
def test_a_merged_value_is_checked_against_the_item(api_as, conflict, team):
    client = api_as(team[0])
    assert_error(resolve(client, conflict, "merged"), 422, "conflict.value_required")
    assert_error(resolve(client, conflict, "client", value="yes"), 422, "conflict.value_unexpected")
    err = assert_error(resolve(client, conflict, "merged", value=3), 422, "sync.answer_wrong_type")
    assert "PUB-1" in err["message"] and "value" in err["fields"]
    assert_error(resolve(client, conflict, "merged", value=["yes"]), 422, "sync.answer_wrong_type")
    assert_error(resolve(client, conflict, "maybe"), 422)
    assert answer().version == 2 and not VisitRecord.objects.get(pk=conflict.pk).resolved
    r = resolve(client, conflict, "merged", value="yes", note="两人复核后确认")
    assert r.status_code == 200 and r.json()["resolved_value"]["value"] == "yes"
    assert resolve(client, conflict, "merged", value="yes").status_code == 200  # the same again
    assert_error(resolve(client, conflict, "merged", value="na"), 409, "conflict.already_resolved")
    a = answer()
    assert (a.value, a.version, a.answered_by_id) == ("yes", 3, team[0].pk)


@pytest.mark.django_db
def test_a_checkin_conflict_keeps_one_copy_and_recomputes_the_distance(api_as, visit, team):
    send(team[0], [record(visit, "checkin", {"latitude": FAR[0], "longitude": FAR[1]})])
    second = record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]})
    assert send(team[1], [second])[0]["status"] == "conflict"
    rec = VisitRecord.objects.get(client_uuid=second["uuid"])
    client = api_as(team[1])
    assert_error(resolve(client, rec, "merged", value="x"), 422, "conflict.merge_not_supported")
    r = resolve(client, rec, "client")
    assert r.status_code == 200, r.content
    visit.refresh_from_db()
    assert visit.checkin_distance_m < 50 and not visit.checkin_flagged
    assert r.json()["resolved_value"]["latitude"] == "29.703200"


@pytest.mark.django_db
def test_an_acknowledgement_conflict_can_be_merged(api_as, visit, team):
    send(team[0], [record(visit, "acknowledge", {"name": "王校长"})])
    other = record(visit, "acknowledge", {"name": "王副校长"})
    assert send(team[1], [other])[0]["status"] == "conflict"
    rec = VisitRecord.objects.get(client_uuid=other["uuid"])
    assert_error(resolve(api_as(team[0]), rec, "merged", value=""), 422, "sync.bad_acknowledgement")
    assert resolve(api_as(team[0]), rec, "merged", value="王校长、王副校长").status_code == 200
    visit.refresh_from_db()
    assert visit.acknowledged_by == "王校长、王副校长"


@pytest.mark.django_db
def test_bad_and_unknown_uuids(api_as, conflict, team):
    client = api_as(team[0])
    assert_error(client.post("inspections/sync-conflicts/nope/resolve", {"choice": "server"}), 422, "sync.bad_uuid")
    unknown = client.post(f"inspections/sync-conflicts/{uuid.uuid4()}/resolve", {"choice": "server"})
    assert_error(unknown, 404, "not_found")
    applied = VisitRecord.objects.filter(state="applied").first()  # not a conflict: nothing to resolve
    assert_error(resolve(client, applied, "server"), 404, "not_found")


@pytest.mark.django_db
def test_the_conflict_list_costs_the_same_for_10_and_100_rows(api_as, visit, team):
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    def conflicts(n):
        VisitRecord.objects.bulk_create(
            VisitRecord(
                client_uuid=uuid.uuid4(),
                inspection=visit,
                author=team[0],
                kind="answer",
                request_hash="h",
                payload={"item_code": f"C-{i % 7}", "value": "yes"},
                client_time=timezone.now(),
                base_version=1,
                state="conflict",
                server_copy={"item_code": f"C-{i % 7}", "value": "no", "version": 2},
            )  # fmt: skip
            for i in range(n)
        )

    client = api_as(team[1])

    def count():
        client.get("inspections/sync-conflicts", {"page_size": 100})
        with CaptureQueriesContext(connection) as ctx:
            body = client.get("inspections/sync-conflicts", {"page_size": 100}).json()
        return len(ctx), body

    conflicts(10)
    small, _ = count()
    conflicts(90)
    large, body = count()
    assert len(body["items"]) == 100 and large == small


# --- Two reviewers at once (production lane) -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane")
def test_two_reviewers_at_once_one_resolution_wins(conflict, team):
    def resolve(i, choice):
        return sync.conflict_resolve(actor=team[i], record_uuid=str(conflict.client_uuid), choice=choice)

    results = race([lambda: resolve(0, "client"), lambda: resolve(1, "server")])
    won = [r for r in results if isinstance(r, tuple)]
    lost = [r for r in results if not isinstance(r, tuple)]
    assert len(won) == 1 and won[0][1] is True, results
    assert len(lost) == 1 and getattr(lost[0], "code", None) == "conflict.already_resolved", results
    assert AuditEvent.objects.filter(verb="inspection.conflict_resolve").count() == 1
    expected = "na" if won[0][0].resolution == "client" else "no"
    assert answer().value == expected


@pytest.mark.django_db
def test_a_server_copy_changed_after_the_reviewer_looked_is_a_409(api_as, conflict, team, visit):
    [row] = api_as(team[1]).get("inspections/sync-conflicts").json()["items"]
    seen = row["server_now"]["version"]
    # Meanwhile another inspector changes the answer again.
    [fate] = send(team[1], [record(visit, "answer", {"item_code": "PUB-1", "value": "yes"}, base_version=seen)])
    assert fate["status"] == "applied"
    err = assert_error(
        resolve(api_as(team[1]), conflict, "client", server_version=seen), 409, "conflict.server_changed"
    )
    assert "server_version" in err["fields"]
    assert answer().value == "yes" and not VisitRecord.objects.get(pk=conflict.pk).resolved
    # Looking again, the reviewer decides on what is there now.
    [row] = api_as(team[1]).get("inspections/sync-conflicts").json()["items"]
    r = resolve(api_as(team[1]), conflict, "client", server_version=row["server_now"]["version"])
    assert r.status_code == 200, r.content
    assert answer().value == "na"
