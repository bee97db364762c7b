"""Attendance from the teacher's phone: the day's sessions with rosters, idempotent batches (sent twice or sent
later after a day offline), refusals for students not on the roster and for future dates, corrections with a
reason, and the parent's notification when a child is absent without leave."""

import uuid

import pytest

from afterschool.schedule.models import Attendance
from core.models import AuditEvent, Notification
from tests.afterschool.conftest import enrol, make_programme, make_session, make_student
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def wednesday_reading(term_x, teacher_x, child, other_child, room_x):
    p = make_programme(term_x, "阅读社")
    session = make_session(p, teacher_x, weekday=2, room=room_x)  # Wednesdays
    enrol(child, p)
    enrol(other_child, p)
    return session


def mark(session, student, day="2026-11-25", value="present", **extra):
    return {
        "client_uuid": str(extra.pop("client_uuid", uuid.uuid4())),
        "session_id": session.pk,
        "student_id": student.pk,
        "date": day,
        "mark": value,
        **extra,
    }


def test_my_sessions_lists_todays_sessions_with_the_roster(teacher_x, api_as, wednesday_reading):
    body = api_as(teacher_x).get("afterschool/my-sessions").json()
    assert len(body) == 1
    assert body[0]["session"]["programme_name"] == "阅读社" and body[0]["date"] == "2026-11-25"
    assert [e["student"]["name"] for e in body[0]["roster"]] == ["张小明", "李小红"]
    assert api_as(teacher_x).get("afterschool/my-sessions", {"date": "2026-11-24"}).json() == []  # a Tuesday


def test_a_make_up_saturday_runs_mondays_timetable(teacher_x, api_as, term_x, child):
    p = make_programme(term_x)
    make_session(p, teacher_x, weekday=0)
    enrol(child, p)
    assert len(api_as(teacher_x).get("afterschool/my-sessions", {"date": "2026-10-10"}).json()) == 1  # 调休 Saturday
    assert api_as(teacher_x).get("afterschool/my-sessions", {"date": "2026-10-05"}).json() == []  # National Day


def test_batch_is_idempotent(teacher_x, api_as, wednesday_reading, child, other_child):
    batch = {"records": [mark(wednesday_reading, child), mark(wednesday_reading, other_child, value="leave")]}
    api = api_as(teacher_x)
    first = api.post("afterschool/attendance/batch", batch)
    assert first.status_code == 200, first.content
    assert [r["result"] for r in first.json()] == ["created", "created"]
    again = api.post("afterschool/attendance/batch", batch)
    assert [r["result"] for r in again.json()] == ["unchanged", "unchanged"]
    assert [r["id"] for r in again.json()] == [r["id"] for r in first.json()]
    assert Attendance.objects.count() == 2
    assert AuditEvent.objects.filter(verb="afterschool.attendance_recorded").count() == 2


def test_a_batch_sent_later_after_a_day_offline_is_accepted(teacher_x, api_as, wednesday_reading, child):
    r = api_as(teacher_x).post(
        "afterschool/attendance/batch", {"records": [mark(wednesday_reading, child, day="2026-11-18")]}
    )
    assert r.status_code == 200 and r.json()[0]["result"] == "created"


def test_remarking_on_the_day_updates_after_the_day_needs_a_correction(
    teacher_x, api_as, wednesday_reading, child, django_capture_on_commit_callbacks
):
    api = api_as(teacher_x)
    api.post("afterschool/attendance/batch", {"records": [mark(wednesday_reading, child)]})
    r = api.post(
        "afterschool/attendance/batch",
        {"records": [mark(wednesday_reading, child, value="left_early", left_at="17:10")]},
    )
    assert r.json()[0]["result"] == "updated"
    assert Attendance.objects.get().mark == "left_early"

    api.post("afterschool/attendance/batch", {"records": [mark(wednesday_reading, child, day="2026-11-18")]})
    r = api.post(
        "afterschool/attendance/batch", {"records": [mark(wednesday_reading, child, day="2026-11-18", value="absent")]}
    )
    assert_error(r, 409, "attendance.needs_correction")

    old = Attendance.objects.get(date="2026-11-18")
    url = f"afterschool/attendance/{old.pk}/correction"
    assert_error(api.post(url, {"mark": "absent", "reason": "   "}), 422, "attendance.reason_required")
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(url, {"mark": "absent", "reason": "家长来电确认当天未到"})
    assert r.status_code == 200, r.content
    assert r.json()["corrected"] is True and r.json()["mark"] == "absent"
    event = AuditEvent.objects.get(verb="afterschool.attendance_corrected")
    assert (event.from_state, event.to_state, event.data["reason"]) == ("present", "absent", "家长来电确认当天未到")
    assert Notification.objects.filter(kind="afterschool.absent").count() == 1


def test_parent_is_notified_of_absence_without_leave_only(
    teacher_x, api_as, wednesday_reading, child, other_child, parent, other_parent, django_capture_on_commit_callbacks
):
    batch = {
        "records": [mark(wednesday_reading, child, value="absent"), mark(wednesday_reading, other_child, value="leave")]
    }
    with django_capture_on_commit_callbacks(execute=True):
        api_as(teacher_x).post("afterschool/attendance/batch", batch)
    with django_capture_on_commit_callbacks(execute=True):
        api_as(teacher_x).post("afterschool/attendance/batch", batch)  # sent twice: still one notification
    note = Notification.objects.get(kind="afterschool.absent")
    assert note.recipient == parent and "张小明" in note.body
    assert not Notification.objects.filter(recipient=other_parent, kind="afterschool.absent").exists()

    body = api_as(parent).get(f"afterschool/children/{child.pk}/attendance").json()
    assert [(a["date"], a["mark"]) for a in body] == [("2026-11-25", "absent")]


def test_bad_marks_are_refused_and_nothing_is_stored(
    teacher_x, api_as, wednesday_reading, child, other_child, school_x, class_x
):
    stranger = make_student(school_x, class_x, "不在名单")
    api = api_as(teacher_x)
    good = mark(wednesday_reading, child)
    cases = [
        (mark(wednesday_reading, stranger), 422, "attendance.not_on_roster", "records.1.student_id"),
        (mark(wednesday_reading, other_child, day="2026-12-02"), 422, "attendance.future_date", "records.1.date"),
        (mark(wednesday_reading, other_child, day="2026-11-24"), 422, "attendance.not_a_session_day", "records.1.date"),
        (mark(wednesday_reading, other_child, value="left_early"), 422, "attendance.left_at", "records.1.left_at"),
    ]
    for bad, status, code, field in cases:
        err = assert_error(api.post("afterschool/attendance/batch", {"records": [good, bad]}), status, code)
        assert field in err["fields"]
    assert Attendance.objects.count() == 0


def test_a_uuid_reused_for_another_student_is_refused(teacher_x, api_as, wednesday_reading, child, other_child):
    key = uuid.uuid4()
    api = api_as(teacher_x)
    api.post("afterschool/attendance/batch", {"records": [mark(wednesday_reading, child, client_uuid=key)]})
    r = api.post("afterschool/attendance/batch", {"records": [mark(wednesday_reading, other_child, client_uuid=key)]})
    assert_error(r, 409, "attendance.uuid_reused")
    assert Attendance.objects.count() == 1


def test_only_the_sessions_teacher_or_school_admin_takes_attendance(
    wednesday_reading, child, teacher_x2, teacher_y, school_admin_y, school_admin_x, parent, api_as
):
    batch = {"records": [mark(wednesday_reading, child)]}
    for outsider in (teacher_x2, teacher_y, school_admin_y, parent):
        assert_error(api_as(outsider).post("afterschool/attendance/batch", batch), 404, "not_found")
        assert api_as(outsider).get("afterschool/my-sessions").json() == []
    assert api_as(school_admin_x).post("afterschool/attendance/batch", batch).status_code == 200
    row = Attendance.objects.get()
    for outsider in (teacher_x2, teacher_y, parent):
        r = api_as(outsider).post(f"afterschool/attendance/{row.pk}/correction", {"mark": "absent", "reason": "核对"})
        assert_error(r, 404, "not_found")


def test_withdrawn_child_leaves_the_roster_from_the_next_school_day(
    teacher_x, api_as, wednesday_reading, child, parent
):
    app = child.applications.get()
    api_as(parent).post(f"afterschool/applications/{app.pk}/withdraw")
    names = lambda day: [  # noqa: E731
        e["student"]["name"]
        for e in api_as(teacher_x).get("afterschool/my-sessions", {"date": day}).json()[0]["roster"]
    ]
    assert names("2026-11-25") == ["张小明", "李小红"]  # still today


def test_my_sessions_for_a_future_week_omits_the_withdrawn_child(teacher_x, api_as, wednesday_reading, child, parent):
    app = child.applications.get()
    api_as(parent).post(f"afterschool/applications/{app.pk}/withdraw")
    roster = api_as(teacher_x).get("afterschool/my-sessions", {"date": "2026-12-02"}).json()[0]["roster"]
    assert [e["student"]["name"] for e in roster] == ["李小红"]
