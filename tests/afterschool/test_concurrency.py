"""Races of the real world: the last place approved twice at once, the same attendance batch sent by a phone on a
weak signal several times at once, two admins booking one room, a double tap on "apply"."""

import random
import threading
import time
import uuid
from collections import Counter
from datetime import date
from datetime import time as clock

import pytest
from django.db import connection

from afterschool.schedule import attendance, enrolment, services
from afterschool.schedule.models import Application, Attendance, Session
from core.errors import DomainError
from core.models import AuditEvent
from tests.afterschool.conftest import TODAY, enrol, make_programme, make_session, make_student
from tests.concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]
ROUNDS = 40


def test_the_last_place_goes_to_one_child(school_x, class_x, term_x, teacher_x, parent):
    p = make_programme(term_x, capacity=1)
    apps = [
        Application.objects.create(student=make_student(school_x, class_x, guardian=parent), programme=p)
        for _ in range(4)
    ]
    ids = iter([a.pk for a in apps])
    lock = threading.Lock()

    def approve_next():
        with lock:
            app_id = next(ids)
        return enrolment.application_approve(actor=teacher_x, application_id=app_id)

    results = race(approve_next)
    assert all(isinstance(r, Application) for r in results), results
    assert Application.objects.filter(programme=p, status="approved").count() == 1
    assert Application.objects.filter(programme=p, status="waitlisted").count() == 3


def test_one_batch_sent_four_times_at_once_is_stored_once(term_x, teacher_x, child, other_child):
    p = make_programme(term_x)
    session = make_session(p, teacher_x, weekday=TODAY.weekday())
    enrol(child, p)
    enrol(other_child, p)
    records = [attendance.MarkIn(uuid.uuid4(), session.pk, s.pk, TODAY, "present") for s in (child, other_child)]
    results = race(lambda: attendance.attendance_record_batch(actor=teacher_x, records=records))
    assert all(isinstance(r, list) for r in results), results
    assert Attendance.objects.count() == 2
    assert sorted(r[0]["result"] for r in results).count("created") == 1


def test_two_admins_cannot_both_book_one_room(term_x, school_admin_x, teacher_x, teacher_x2, room_x):
    programmes = iter([make_programme(term_x, "合唱"), make_programme(term_x, "书法")])
    teachers = iter([teacher_x, teacher_x2])
    lock = threading.Lock()

    def book():
        with lock:
            programme, teacher = next(programmes), next(teachers)
        return services.session_create(
            actor=school_admin_x,
            programme=programme,
            weekdays=[0],
            starts_at=clock(16),
            ends_at=clock(17),
            teacher_id=teacher.pk,
            room_id=room_x.pk,
        )

    results = race(book, n=2)
    assert sum(isinstance(r, list) for r in results) == 1
    assert [r.code for r in results if isinstance(r, DomainError)] == ["session.room_clash"]
    assert Session.objects.filter(room=room_x).count() == 1


def test_a_double_tap_on_apply_makes_one_application(term_x, parent, child):
    p = make_programme(term_x)
    results = race(lambda: enrolment.application_submit(actor=parent, student_id=child.pk, programme_id=p.pk))
    assert sum(isinstance(r, Application) for r in results) == 1
    assert all(isinstance(r, Application) or r.code == "application.duplicate" for r in results), results
    assert Application.objects.filter(student=child, programme=p).count() == 1


def _jitter(execute, sql, params, many, context):
    """Random pauses after each read of attendance rows, so the two copies interleave every way over the rounds."""
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith("SELECT") and "afterschool_attendance" in sql:
        time.sleep(random.random() * 0.004)
    return result


def _outcome(result) -> str:
    if isinstance(result, DomainError):
        return f"{result.status} {result.code}"
    if isinstance(result, Exception):
        return repr(result)
    return "+".join(sorted({r["result"] for r in result}))


@pytest.mark.parametrize("day", [TODAY, date(2026, 11, 18)], ids=["today", "a-day-offline"])
def test_the_same_batch_sent_twice_at_once_is_unchanged_never_a_conflict(term_x, teacher_x, child, other_child, day):
    """A phone's retry racing its own first send: one copy creates, the other answers "unchanged" (never 409
    attendance.needs_correction, never "updated"), round after round."""
    p = make_programme(term_x)
    session = make_session(p, teacher_x, weekday=2)
    enrol(child, p)
    enrol(other_child, p)

    def send(records):
        with connection.execute_wrapper(_jitter):
            return attendance.attendance_record_batch(actor=teacher_x, records=records)

    seen = Counter()
    for _ in range(ROUNDS):
        Attendance.objects.all().delete()
        records = [attendance.MarkIn(uuid.uuid4(), session.pk, s.pk, day, "present") for s in (child, other_child)]
        results = race(lambda records=records: send(records), n=2)
        seen.update(_outcome(r) for r in results)
    assert seen == {"created": ROUNDS, "unchanged": ROUNDS}, seen
    assert Attendance.objects.count() == 2


def test_an_approval_and_a_rejection_at_once_decide_once(term_x, teacher_x, school_admin_x, child):
    app = Application.objects.create(student=child, programme=make_programme(term_x))
    results = race([
        lambda: enrolment.application_approve(actor=teacher_x, application_id=app.pk),
        lambda: enrolment.application_reject(actor=school_admin_x, application_id=app.pk, reason="名额调整"),
    ])
    assert sorted(type(r).__name__ for r in results) == ["Application", "DomainError"], results
    assert [r.code for r in results if isinstance(r, DomainError)] == ["application.not_pending"]
    app.refresh_from_db()
    events = AuditEvent.objects.filter(object_id=str(app.pk), from_state="pending")
    assert [(e.from_state, e.to_state) for e in events] == [("pending", app.status)]


def test_a_withdrawal_sent_twice_at_once_withdraws_once(term_x, parent, child):
    app = enrol(child, make_programme(term_x))
    results = race(lambda: enrolment.application_withdraw(actor=parent, application_id=app.pk), n=2)
    assert sorted(type(r).__name__ for r in results) == ["Application", "DomainError"], results
    events = AuditEvent.objects.filter(verb="afterschool.application_withdrawn", object_id=str(app.pk))
    assert [(e.from_state, e.to_state) for e in events] == [("approved", "withdrawn")]
