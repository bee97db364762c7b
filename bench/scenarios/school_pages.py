"""The school admin's scheduling pages against today's API of the same data (`make bench BENCH_ARGS="--only
school_pages"`), on the bench school of bench/scenarios/afterschool.py: 200 sessions a week (40 programmes × 5
weekdays) and 2,000 applications in the term.

Rows, each pair the same data through the API (bearer token) and through the page (web session cookie):
- the timetable: `GET /api/v1/afterschool/schools/{id}/sessions?term_id=` and `…/schedule-check?term_id=` against
  `GET /afterschool/school/{id}/terms/{term}/timetable/` (the editor: the sessions by day, the "5+2" report and
  the staff picker), and its inline check `GET …/timetable/check/?…` (the clash and "5+2" checks of a new session);
- the term's applications: `GET /api/v1/afterschool/applications?term_id=&page_size=50` against
  `GET /afterschool/school/{id}/applications/?term=` (fifty a page, filters).

- the roll call of a roster of 50: `GET /api/v1/afterschool/my-sessions?date=` (what the roll-call app loads, as a
  native app would) against the app's page `/app/rollcall/` (its shell, kept by the service worker after the first
  visit) and the web sign-in sheet of the same session `GET /afterschool/sessions/{id}/sign-in/?date=`.

Goal (issue 19): each page at least the ratio to the bare view the API reaches for the same data, taken from the API
rows of the same run (`goal_from`): the editor shows what the sessions list and the schedule check give together
(two calls: 1/(1/r1 + 1/r2)), the check what the schedule check gives, the applications page what the applications
list gives, the roll-call pages what my-sessions gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

API = {"Authorization": "Bearer {sp_admin_token}"}
WEB = {"Cookie": "{sp_admin_cookie}"}
SESSIONS = "API sessions of a term (200)"
CHECK = "API schedule-check of the term (200 sessions)"
APPLICATIONS = "API applications of the term (2,000; 50 a page)"
MY_SESSIONS = "API my-sessions (roster of 50)"

ENDPOINTS = [
    Endpoint(SESSIONS, "/api/v1/afterschool/schools/{sp_school}/sessions?term_id={sp_term}", API),
    Endpoint(
        CHECK,
        "/api/v1/afterschool/schools/{sp_school}/schedule-check?term_id={sp_term}",
        API,
    ),
    Endpoint(
        "page timetable editor (200 sessions, 5+2, picker)",
        "/afterschool/school/{sp_school}/terms/{sp_term}/timetable/",
        WEB,
        goal_from=(SESSIONS, CHECK),
    ),
    Endpoint(
        "page inline check of a new session",
        "/afterschool/school/{sp_school}/terms/{sp_term}/timetable/check/?{sp_check}",
        WEB,
        goal_from=(CHECK,),
    ),
    Endpoint(
        APPLICATIONS,
        "/api/v1/afterschool/applications?term_id={sp_term}&page_size=50",
        API,
    ),
    Endpoint(
        "page applications of the term (2,000; 50 a page)",
        "/afterschool/school/{sp_school}/applications/?term={sp_term}",
        WEB,
        goal_from=(APPLICATIONS,),
    ),
    Endpoint(
        MY_SESSIONS, "/api/v1/afterschool/my-sessions?date={sp_day}", {"Authorization": "Bearer {sp_teacher_token}"}
    ),
    Endpoint(
        "page roll-call app (its shell)", "/app/rollcall/", {"Cookie": "{sp_teacher_cookie}"}, goal_from=(MY_SESSIONS,)
    ),
    Endpoint(
        "page sign-in sheet (roster of 50)",
        "/afterschool/sessions/{sp_session}/sign-in/?date={sp_day}",
        {"Cookie": "{sp_teacher_cookie}"},
        goal_from=(MY_SESSIONS,),
    ),
]


def setup() -> dict[str, str]:
    from urllib.parse import urlencode

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Role
    from afterschool.schedule import calendar
    from afterschool.schedule.models import Programme, Session
    from bench.scenarios.afterschool import _bench_school, _user

    school, term = _bench_school()
    admin, token = _user("bench_sp_admin", "压测排课管理员", Role.SCHOOL_ADMIN, school)
    programme, _ = Programme.objects.get_or_create(
        term=term,
        name="压测新项目",
        defaults={"school": school, "kind": "arts", "grade_min": 1, "grade_max": 6, "capacity": 30},
    )
    teacher, teacher_token = _user("bench_as_t00", "压测老师00", Role.TEACHER, school)
    day = max(d for d in calendar.school_days(term, term.starts_on, timezone.localdate()))
    session = Session.objects.get(staff__user=teacher, weekday=calendar.school_days(term, day, day)[day])
    check = urlencode(
        {"programme": programme.pk, "weekdays": 2, "starts_at": "18:00", "ends_at": "19:00", "staff": f"t{teacher.pk}"}
    )
    call_command("collectstatic", interactive=False, verbosity=0)  # pages name static files through the manifest
    cookies = {}
    for user in (admin, teacher):
        client = Client()
        client.force_login(user)
        cookies[user.pk] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return {
        "sp_school": str(school.pk),
        "sp_term": str(term.pk),
        "sp_admin_token": token,
        "sp_admin_cookie": cookies[admin.pk],
        "sp_check": check,
        "sp_teacher_token": teacher_token,
        "sp_teacher_cookie": cookies[teacher.pk],
        "sp_day": str(day),
        "sp_session": str(session.pk),
    }
