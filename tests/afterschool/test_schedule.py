"""Building the schedule through the API: clashes are refused with the clash named, bad input gets clear errors,
and the R-ASS-1 check reports what a bureau officer needs to see."""

from datetime import date

import pytest

from afterschool.schedule.models import Programme, Session
from core.models import AuditEvent
from tests.afterschool.conftest import enrol, make_programme, make_session, make_student
from tests.conftest import assert_error
from tests.factories import PolicyValueFactory, TermDayFactory

pytestmark = pytest.mark.django_db


def session_body(teacher, **extra):
    return {"weekdays": [0], "starts_at": "16:00", "ends_at": "17:40", "teacher_id": teacher.pk, **extra}


def test_admin_builds_a_programme_with_sessions(school_admin_x, api_as, term_x, teacher_x, room_x):
    api = api_as(school_admin_x)
    r = api.post(
        f"afterschool/schools/{term_x.school_id}/programmes",
        {"term_id": term_x.pk, "name": "阅读社", "kind": "reading", "grade_min": 1, "grade_max": 6, "capacity": 40},
    )
    assert r.status_code == 201, r.content
    programme_id = r.json()["id"]
    r = api.post(
        f"afterschool/programmes/{programme_id}/sessions",
        session_body(teacher_x, weekdays=[0, 2, 4], room_id=room_x.pk),
    )
    assert r.status_code == 201, r.content
    assert [s["weekday_label"] for s in r.json()] == ["周一", "周三", "周五"]
    assert r.json()[0]["staff"] == "王老师" and r.json()[0]["room"] == "阅览室"
    assert AuditEvent.objects.filter(verb="afterschool.session_created").count() == 3


def test_a_teacher_in_two_sessions_at_once_is_refused_with_the_clash_named(school_admin_x, api_as, term_x, teacher_x):
    first = make_programme(term_x, "书法")
    make_session(first, teacher_x, weekday=0, start=(16, 0), end=(17, 0))
    second = make_programme(term_x, "合唱")
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{second.pk}/sessions", session_body(teacher_x, starts_at="16:30", ends_at="18:00")
    )
    err = assert_error(r, 409, "session.staff_clash")
    assert "王老师" in err["message"] and "书法" in err["message"] and "周一" in err["message"]
    assert not second.sessions.exists()


def test_back_to_back_sessions_do_not_clash(school_admin_x, api_as, term_x, teacher_x):
    make_session(make_programme(term_x, "书法"), teacher_x, weekday=0, start=(16, 0), end=(17, 0))
    second = make_programme(term_x, "合唱")
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{second.pk}/sessions", session_body(teacher_x, starts_at="17:00", ends_at="18:00")
    )
    assert r.status_code == 201, r.content


def test_a_room_in_two_sessions_at_once_is_refused(school_admin_x, api_as, term_x, teacher_x, teacher_x2, room_x):
    make_session(make_programme(term_x, "书法"), teacher_x, weekday=0, room=room_x)
    second = make_programme(term_x, "合唱")
    r = api_as(school_admin_x, lang="en").post(
        f"afterschool/programmes/{second.pk}/sessions", session_body(teacher_x2, room_id=room_x.pk)
    )
    err = assert_error(r, 409, "session.room_clash")
    assert "阅览室" in err["message"] and "Clash" in err["message"]


def test_a_student_in_two_overlapping_sessions_is_refused(school_admin_x, api_as, term_x, teacher_x, teacher_x2, child):
    chess = make_programme(term_x, "围棋")
    make_session(chess, teacher_x, weekday=0)
    football = make_programme(term_x, "足球")
    enrol(child, chess)
    enrol(child, football)
    r = api_as(school_admin_x).post(f"afterschool/programmes/{football.pk}/sessions", session_body(teacher_x2))
    err = assert_error(r, 409, "session.student_clash")
    assert "张小明" in err["message"] and "围棋" in err["message"]


def test_session_that_ends_before_it_starts(school_admin_x, api_as, term_x, teacher_x):
    p = make_programme(term_x)
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{p.pk}/sessions", session_body(teacher_x, starts_at="17:00", ends_at="16:00")
    )
    err = assert_error(r, 422, "session.ends_before_start")
    assert "ends_at" in err["fields"]
    assert not Session.objects.exists()


def test_session_outside_the_term_or_on_no_school_day(school_admin_x, api_as, term_x, teacher_x):
    p = make_programme(term_x)
    api = api_as(school_admin_x)
    r = api.post(f"afterschool/programmes/{p.pk}/sessions", session_body(teacher_x, last_date="2027-02-01"))
    err = assert_error(r, 422, "session.outside_term")
    assert "2026-09-01" in err["message"] and "first_date" in err["fields"]
    r = api.post(f"afterschool/programmes/{p.pk}/sessions", session_body(teacher_x, weekdays=[5]))
    assert_error(r, 422, "session.not_a_school_day")
    # The National Day week (2026-10-01..07) has no school: a session only on Thursday 1 October is refused.
    r = api.post(
        f"afterschool/programmes/{p.pk}/sessions",
        session_body(teacher_x, weekdays=[3], first_date="2026-10-01", last_date="2026-10-01"),
    )
    assert_error(r, 422, "session.not_a_school_day")
    assert not Session.objects.exists()


def test_capacity_zero_and_fee_without_amount_are_refused(school_admin_x, api_as, term_x):
    api = api_as(school_admin_x)
    base = {"term_id": term_x.pk, "name": "足球", "kind": "sports", "grade_min": 1, "grade_max": 6}
    err = assert_error(
        api.post(f"afterschool/schools/{term_x.school_id}/programmes", {**base, "capacity": 0}),
        422,
        "programme.capacity_not_positive",
    )
    assert "capacity" in err["fields"]
    assert_error(
        api.post(f"afterschool/schools/{term_x.school_id}/programmes", {**base, "capacity": 20, "is_free": False}),
        422,
        "programme.fee_required",
    )
    r = api.post(
        f"afterschool/schools/{term_x.school_id}/programmes",
        {**base, "capacity": 20, "is_free": False, "fee_per_lesson": "3.00"},
    )
    assert r.status_code == 201 and r.json()["fee_per_lesson"] == "3.00"
    assert Programme.objects.count() == 1


def test_only_the_schools_admin_builds_its_schedule(school_admin_y, teacher_x, bureau_staff, api_as, term_x):
    p = make_programme(term_x)
    for user in (school_admin_y, teacher_x, bureau_staff):
        r = api_as(user).post(f"afterschool/programmes/{p.pk}/sessions", session_body(teacher_x))
        assert_error(r, 404, "not_found")
        r = api_as(user).post(f"afterschool/schools/{term_x.school_id}/rooms", {"name": "操场"})
        assert_error(r, 404, "not_found")


# --- R-ASS-1 ---------------------------------------------------------------------------------------------------------


def full_week(term, teacher, end=(18, 0)):
    p = make_programme(term, "作业辅导", kind="homework_care")
    for weekday in range(5):
        make_session(p, teacher, weekday=weekday, start=(16, 0), end=end)
    return p


def test_schedule_check_passes_a_full_5_plus_2_week(school_admin_x, api_as, term_x, teacher_x):
    full_week(term_x, teacher_x)
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert body["ok"] is True, body
    assert body["findings"] == []
    assert body["days_per_week"] == 5
    assert body["policy"]["end_not_before"] == "17:30"
    assert body["school_days"] == body["days_with_service"] > 60


def test_schedule_check_names_each_shortfall(school_admin_x, api_as, term_x, teacher_x, teacher_x2):
    p = make_programme(term_x, "作业辅导", kind="homework_care")
    for weekday in (0, 1, 2):
        make_session(p, teacher_x, weekday=weekday, start=(16, 0), end=(18, 0))
    make_session(p, teacher_x, weekday=3, start=(16, 0), end=(17, 0))  # short and early
    make_programme(term_x, "数学提高班", kind="drilling")
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert body["ok"] is False
    codes = {(f["code"], f.get("weekday")) for f in body["findings"]}
    assert ("no_service", 4) in codes  # Friday
    assert ("too_short", 3) in codes and ("ends_too_early", 3) in codes
    assert ("forbidden_kind", None) in codes
    assert all(f["rule"] == "R-ASS-1" for f in body["findings"])
    friday = next(f for f in body["findings"] if f["code"] == "no_service")
    assert "周五" in friday["message"]


def test_two_parallel_sessions_do_not_make_two_hours(school_admin_x, api_as, term_x, teacher_x, teacher_x2):
    p = full_week(term_x, teacher_x, end=(17, 30))  # 90 minutes
    for weekday in range(5):
        make_session(p, teacher_x2, weekday=weekday, start=(16, 0), end=(17, 30))
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert {f["code"] for f in body["findings"]} == {"too_short"}


def test_closing_time_is_a_dated_policy_value(school_admin_x, api_as, term_x, teacher_x):

    full_week(term_x, teacher_x, end=(18, 0))
    PolicyValueFactory(rule_id="R-ASS-1", key="service_end_not_before", value="18:30", effective_from=date(2026, 8, 1))
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert body["policy"]["end_not_before"] == "18:30"
    assert {f["code"] for f in body["findings"]} == {"ends_too_early"}


def test_a_school_closure_day_needs_no_service(school_admin_x, api_as, term_x, teacher_x):
    full_week(term_x, teacher_x)
    TermDayFactory(term=term_x, date=date(2026, 11, 20))
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert body["ok"] is True


def test_schedule_check_scope(api_as, term_x, school_admin_y, bureau_staff, inspector_b, teacher_x, parent):
    from accounts.models import Role
    from tests.conftest import TOWN_A, make_user, region

    url = f"afterschool/schools/{term_x.school_id}/schedule-check"
    assert api_as(bureau_staff).get(url).status_code == 200  # district staff: every town
    assert api_as(teacher_x).get(url).status_code == 200
    town_a_staff = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    assert api_as(town_a_staff).get(url).status_code == 200
    for outsider in (school_admin_y, inspector_b, parent):  # another school, another town, a parent
        assert_error(api_as(outsider).get(url), 404, "not_found")


def test_participation_counts_enrolled_students(school_admin_x, api_as, term_x, class_x, teacher_x):
    p = full_week(term_x, teacher_x)
    students = [make_student(term_x.school, class_x) for _ in range(4)]
    enrol(students[0], p)
    body = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert (body["enrolled"], body["students"], body["participation_rate"]) == (1, 4, 0.25)


def test_a_term_with_closures_and_an_extra_school_day(school_admin_x, api_as, school_x, teacher_x):
    api = api_as(school_admin_x)
    r = api.post(
        f"afterschool/schools/{school_x.pk}/terms",
        {
            "name": "2026 秋季学期",
            "starts_on": "2026-09-01",
            "ends_on": "2026-12-31",
            "closures": ["2026-11-20"],
            "extra_days": [{"date": "2026-11-21", "follows_weekday": 4}],  # Saturday runs Friday's timetable
        },
    )
    assert r.status_code == 201, r.content
    from afterschool.schedule import calendar
    from afterschool.schedule.models import Term

    term = Term.objects.get(pk=r.json()["id"])
    days = calendar.school_days(term)
    assert date(2026, 11, 20) not in days and days[date(2026, 11, 21)] == 4
    assert date(2026, 10, 10) in days  # the official make-up Saturday
    assert date(2026, 10, 1) not in days  # National Day
    err = assert_error(
        api.post(
            f"afterschool/schools/{school_x.pk}/terms",
            {"name": "错", "starts_on": "2026-12-31", "ends_on": "2026-09-01"},
        ),
        422,
        "term.ends_before_start",
    )
    assert "ends_on" in err["fields"]
