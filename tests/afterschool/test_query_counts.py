"""Work per request does not grow with the size of a school: the schedule check of a school with 200 sessions and
2,000 students, an attendance batch of 50 and the roster of 50 cost the same queries as small ones."""

import re
import uuid
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from afterschool.schedule.models import Application, Programme, Room, SchoolClass, Session, Staff, Student
from tests.afterschool.conftest import TODAY
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def build_school(term, n_sessions: int, n_students: int):
    """n_sessions over 5 weekdays in as many rooms, with distinct teachers; students in 40 classes, half enrolled."""
    school = term.school
    classes = SchoolClass.objects.bulk_create(
        [SchoolClass(school=school, grade=1 + i % 6, number=1 + i // 6) for i in range(40)]
    )
    students = Student.objects.bulk_create(
        [Student(school=school, school_class=classes[i % 40], name=f"学生{i}") for i in range(n_students)]
    )
    per_day = max(1, n_sessions // 5)
    programmes = Programme.objects.bulk_create(
        [
            Programme(school=school, term=term, name=f"项目{i}", kind="clubs", grade_min=1, grade_max=6, capacity=500)
            for i in range(per_day)
        ]
    )
    teachers = [make_user(f"老师{i}", Role.TEACHER, school=school) for i in range(per_day)]
    staff = Staff.objects.bulk_create([Staff(school=school, user=t, name=t.name) for t in teachers])
    rooms = Room.objects.bulk_create([Room(school=school, name=f"教室{i}") for i in range(per_day)])
    sessions = Session.objects.bulk_create(
        [
            Session(
                programme=programmes[i % per_day],
                school=school,
                weekday=i // per_day % 5,
                starts_at=time(16, 0),
                ends_at=time(18, 0),
                room=rooms[i % per_day],
                staff=staff[i % per_day],
                first_date=term.starts_on,
                last_date=term.ends_on,
            )
            for i in range(n_sessions)
        ]
    )
    Application.objects.bulk_create(
        [
            Application(student=s, programme=programmes[i % per_day], status="approved", active_from=term.starts_on)
            for i, s in enumerate(students[: n_students // 2])
        ]
    )
    return teachers, sessions, students


def count_queries(call) -> int:
    call()  # warm: the sign-in and the calendar year are cached after the first request
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_schedule_check_queries_do_not_grow_with_the_school(term_x, term_y, school_admin_x, school_admin_y, api_as):
    build_school(term_x, 200, 2000)
    build_school(term_y, 10, 20)
    big = api_as(school_admin_x)
    small = api_as(school_admin_y)
    n_big = count_queries(lambda: big.get(f"afterschool/schools/{term_x.school_id}/schedule-check"))
    n_small = count_queries(lambda: small.get(f"afterschool/schools/{term_y.school_id}/schedule-check"))
    assert n_big == n_small <= 16
    body = big.get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert body["sessions"] == 200 and body["students"] == 2000 and body["enrolled"] == 1000


def test_coverage_queries_do_not_grow_with_the_number_of_schools(term_x, term_y, bureau_staff, api_as):
    build_school(term_x, 20, 40)
    api = api_as(bureau_staff)
    one = count_queries(lambda: api.get("afterschool/coverage", {"page_size": 1}))
    build_school(term_y, 20, 40)
    two = count_queries(lambda: api.get("afterschool/coverage"))
    assert one == two <= 16


def batch(session, students):
    return {
        "records": [
            {
                "client_uuid": str(uuid.uuid4()),
                "session_id": session.pk,
                "student_id": s.pk,
                "date": str(TODAY),
                "mark": m,
            }
            for s, m in zip(students, ["present", "absent", "leave"] * 100, strict=False)
        ]
    }


def test_an_attendance_batch_of_50_costs_what_a_batch_of_5_costs(term_x, api_as):
    teachers, sessions, students = build_school(term_x, 10, 200)
    wednesday = [s for s in sessions if s.weekday == TODAY.weekday()]
    small_session, big_session = wednesday[0], wednesday[1]
    teacher_small = next(t for t in teachers if t.afterschool_staff.get().pk == small_session.staff_id)
    teacher_big = next(t for t in teachers if t.afterschool_staff.get().pk == big_session.staff_id)

    def roster(s):
        return list(Student.objects.filter(applications__programme_id=s.programme_id, applications__status="approved"))

    small_roster, big_roster = roster(small_session)[:5], roster(big_session)[:50]
    assert len(big_roster) == 50

    def post(user, session, students):
        api = api_as(user)
        api.get("afterschool/my-sessions")  # warm the sign-in
        with CaptureQueriesContext(connection) as ctx:
            r = api.post("afterschool/attendance/batch", batch(session, students))
        assert r.status_code == 200, r.content
        return len(ctx.captured_queries)

    n_small = post(teacher_small, small_session, small_roster)
    n_big = post(teacher_big, big_session, big_roster)
    assert n_big == n_small <= 16

    api = api_as(teacher_big)
    api.get("afterschool/my-sessions")
    with CaptureQueriesContext(connection) as ctx:
        body = api.get("afterschool/my-sessions").json()
    assert len(body[0]["roster"]) == 50
    assert len(ctx.captured_queries) <= 10


def test_application_list_and_timetable_page_cost_the_same_for_10_and_50_rows(term_x, school_admin_x, api_as):
    from django.test import Client

    teachers, sessions, students = build_school(term_x, 10, 100)
    api = api_as(school_admin_x)
    small = count_queries(lambda: api.get("afterschool/applications", {"page_size": 10}))
    large = count_queries(lambda: api.get("afterschool/applications", {"page_size": 50}))
    assert small == large <= 8

    web = Client()
    web.force_login(school_admin_x)
    url = f"/afterschool/schools/{term_x.school_id}/timetable/"
    few = count_queries(lambda: web.get(url))
    build_more = Programme.objects.create(
        school=term_x.school, term=term_x, name="加课", kind="arts", grade_min=1, grade_max=6, capacity=9
    )
    staff = Staff.objects.first()
    Session.objects.bulk_create(
        Session(
            programme=build_more,
            school=term_x.school,
            weekday=w % 5,
            starts_at=time(18, 0),
            ends_at=time(18, 30),
            staff=staff,
            first_date=term_x.starts_on,
            last_date=term_x.ends_on,
        )
        for w in range(40)
    )
    many = count_queries(lambda: web.get(url))
    assert few == many


def test_the_roll_call_and_the_sign_in_sheet_cost_the_same_for_a_roster_of_5_and_of_50(term_x, api_as):
    """The teacher's roll call (the app loads my-sessions) and the printable sign-in sheet of the same session."""
    from django.test import Client

    teachers, sessions, students = build_school(term_x, 10, 200)
    session = next(s for s in sessions if s.weekday == TODAY.weekday())
    teacher = next(t for t in teachers if t.afterschool_staff.get().pk == session.staff_id)
    enrolled = Application.objects.filter(programme_id=session.programme_id, status="approved").order_by("pk")
    api = api_as(teacher)
    web = Client()
    web.force_login(teacher)
    sheet = f"/afterschool/sessions/{session.pk}/sign-in/?date={TODAY}"
    api.get("afterschool/my-sessions")  # warm the sign-in
    web.get(sheet)

    def counts(roster_size: int) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as app:
            body = api.get("afterschool/my-sessions").json()
        with CaptureQueriesContext(connection) as page:
            html = web.get(sheet).content.decode()
        rows = next(s for s in body if s["session"]["id"] == session.pk)["roster"]
        assert len(rows) == roster_size == len(set(re.findall(r"学生\d+", html)))
        return len(app.captured_queries), len(page.captured_queries)

    assert enrolled.count() == 50
    big = counts(50)
    Application.objects.filter(pk__in=list(enrolled.values_list("pk", flat=True)[5:])).update(
        status="withdrawn", active_until_excl=TODAY
    )  # off the roster from today
    assert counts(5) == big
