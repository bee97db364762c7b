"""The school admin's scheduling pages against today's API of the same data (`make bench BENCH_ARGS="--only
school_pages"`), on the bench school of bench/scenarios/afterschool.py: 200 sessions a week (40 programmes × 5
weekdays) and 2,000 applications in the term.

Rows, each pair the same data through the API (bearer token) and through the page (web session cookie):
- the timetable: `GET /api/v1/afterschool/schools/{id}/sessions?term_id=` and `…/schedule-check?term_id=` against
  `GET /afterschool/school/{id}/terms/{term}/timetable/` (the editor: the sessions by day, the "5+2" report and
  the staff picker), and its inline check `GET …/timetable/check/?…` (the clash and "5+2" checks of a new session);
- the term's applications: `GET /api/v1/afterschool/applications?term_id=&page_size=50` against
  `GET /afterschool/school/{id}/applications/?term=` (fifty a page, filters).

Goal (issue 19): each page at least the ratio to the bare view the API reaches for the same data. The goals below are
the API's ratios of the run recorded in bench/README.md ("School admin's pages"): the editor shows what the sessions
list and the schedule check give together (two calls: 1/(1/r1 + 1/r2)), the check what the schedule check gives,
the applications page what the applications list gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

API = {"Authorization": "Bearer {sp_admin_token}"}
WEB = {"Cookie": "{sp_admin_cookie}"}

ENDPOINTS = [
    Endpoint("API sessions of a term (200)", "/api/v1/afterschool/schools/{sp_school}/sessions?term_id={sp_term}", API),
    Endpoint(
        "API schedule-check of the term (200 sessions)",
        "/api/v1/afterschool/schools/{sp_school}/schedule-check?term_id={sp_term}",
        API,
    ),
    Endpoint(
        "page timetable editor (200 sessions, 5+2, picker)",
        "/afterschool/school/{sp_school}/terms/{sp_term}/timetable/",
        WEB,
        goal=0.023,
    ),
    Endpoint(
        "page inline check of a new session",
        "/afterschool/school/{sp_school}/terms/{sp_term}/timetable/check/?{sp_check}",
        WEB,
        goal=0.04,
    ),
    Endpoint(
        "API applications of the term (2,000; 50 a page)",
        "/api/v1/afterschool/applications?term_id={sp_term}&page_size=50",
        API,
    ),
    Endpoint(
        "page applications of the term (2,000; 50 a page)",
        "/afterschool/school/{sp_school}/applications/?term={sp_term}",
        WEB,
        goal=0.073,
    ),
]


def setup() -> dict[str, str]:
    from urllib.parse import urlencode

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Role, User
    from afterschool.schedule.models import Programme
    from bench.scenarios.afterschool import _bench_school, _user

    school, term = _bench_school()
    admin, token = _user("bench_sp_admin", "压测排课管理员", Role.SCHOOL_ADMIN, school)
    programme, _ = Programme.objects.get_or_create(
        term=term,
        name="压测新项目",
        defaults={"school": school, "kind": "arts", "grade_min": 1, "grade_max": 6, "capacity": 30},
    )
    teacher = User.objects.get(username="bench_as_t00")
    check = urlencode(
        {"programme": programme.pk, "weekdays": 2, "starts_at": "18:00", "ends_at": "19:00", "staff": f"t{teacher.pk}"}
    )
    call_command("collectstatic", interactive=False, verbosity=0)  # pages name static files through the manifest
    client = Client()
    client.force_login(admin)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return {
        "sp_school": str(school.pk),
        "sp_term": str(term.pk),
        "sp_admin_token": token,
        "sp_admin_cookie": cookie,
        "sp_check": check,
    }
