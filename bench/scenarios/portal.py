"""Each role's home under load (`make bench BENCH_ARGS="--only portal --institutions 0"`).

Rows (web pages, signed in with a session cookie made in the setup step):
- `GET /` by a parent of three children (one school, a term around today, each child on two programmes with a
  session every weekday, a month of attendance with some absences, a bill each, a few complaints);
- `GET /` by a complaint handler (bureau staff of 敦仁街道) with 200 complaints in their town, half of them theirs,
  in every open state, with deadlines around today.

- `GET /` by a signed-in user with no role: what any signed-in page costs before its own work (no goal).

Goal, from issue 16: server time at least 0.3 of the bare view, i.e. requests/s ≥ 0.3 × the bare view's. A home is
a full page (template, session, memberships, every count of the role), so the ratio says what the counts cost on
top of rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

TOWN = "500102006"  # 敦仁街道: the handler's town
SCHOOL_NAME = "涪陵区压测首页小学"
HANDLER_COMPLAINTS = 200
CHILDREN = 3
TRACKING_PREFIX = "BENCH-HOME-"

ENDPOINTS = [
    # The floor of any signed-in page: session, user, memberships, the one counts query, the template; no cards.
    Endpoint("GET / home: no role (floor)", "/", {"Cookie": "{portal_norole_cookie}"}),
    Endpoint("GET / home: parent of 3 children", "/", {"Cookie": "{portal_parent_cookie}"}, goal=0.3),
    Endpoint("GET / home: handler, 200 complaints", "/", {"Cookie": "{portal_handler_cookie}"}, goal=0.3),
]


def _user(username: str, name: str, role: str, **where):
    from accounts.models import Membership, User

    user = User.objects.filter(username=username).first() or User.objects.create_user(username=username, name=name)
    # Memberships name a school or an institution by id (identity knows no domain model).
    where = {f"{k}_id" if k in ("school", "institution") else k: getattr(v, "pk", v) if k != "region" else v
             for k, v in where.items()}
    Membership.objects.get_or_create(user=user, role=role, **where, defaults={"is_active": True})
    return user


def _cookie(user) -> str:
    """A signed-in web session of `user`, as the `Cookie` header a browser would send."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _parent():
    """A parent with three children at the bench school, each on two programmes (a session every weekday 16:00),
    attendance over the last four weeks (every fifth mark an absence), a bill each and three complaints."""
    import uuid
    from datetime import time, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import Region, Role
    from afterschool.models import (
        Application,
        Attendance,
        Bill,
        Programme,
        School,
        SchoolClass,
        Session,
        Staff,
        Student,
        Term,
    )

    today = timezone.localdate()
    town = Region.objects.get(code=TOWN, valid_to__isnull=True)
    parent = _user("bench_home_parent", "压测家长", Role.PARENT)
    school, _ = School.objects.get_or_create(name=SCHOOL_NAME, defaults={"town": town})
    term, _ = Term.objects.get_or_create(
        school=school, name="压测首页学期",
        defaults={"starts_on": today - timedelta(days=60), "ends_on": today + timedelta(days=60)},
    )  # fmt: skip
    if Student.objects.filter(guardians=parent).count() >= CHILDREN:
        return parent
    teacher = _user("bench_home_teacher", "压测首页老师", Role.TEACHER, school=school)
    staff, _ = Staff.objects.get_or_create(school=school, user=teacher, defaults={"name": teacher.name})
    klass, _ = SchoolClass.objects.get_or_create(school=school, grade=3, number=1)
    programmes = [
        Programme.objects.get_or_create(
            term=term, name=f"压测首页项目{i}",
            defaults={"school": school, "kind": "clubs", "grade_min": 1, "grade_max": 6, "capacity": 60},
        )[0]
        for i in range(2 * CHILDREN)
    ]  # fmt: skip
    sessions = []
    for i, programme in enumerate(programmes):
        for weekday in range(5):
            sessions.append(
                Session.objects.get_or_create(
                    programme=programme, weekday=weekday,
                    defaults={"school": school, "starts_at": time(16 + i % 2), "ends_at": time(17 + i % 2),
                              "staff": staff, "first_date": term.starts_on, "last_date": term.ends_on},
                )[0]
            )  # fmt: skip
    marks = []
    for c in range(CHILDREN):
        child = Student.objects.create(school=school, school_class=klass, name=f"压测孩子{c}")
        child.guardians.add(parent)
        mine = programmes[2 * c : 2 * c + 2]
        for programme in mine:
            Application.objects.create(
                student=child, programme=programme, status="approved", active_from=term.starts_on
            )
        Bill.objects.create(student=child, term=term, school=school, basis="per_lesson", rate=Decimal("3.00"),
                            lessons=40, gross=Decimal("120.00"), amount=Decimal("120.00"))  # fmt: skip
        for n, day in enumerate(today - timedelta(days=d) for d in range(1, 29)):
            if day.weekday() >= 5:
                continue
            session = next(s for s in sessions if s.programme_id == mine[0].pk and s.weekday == day.weekday())
            marks.append(Attendance(session=session, student=child, date=day, mark="absent" if n % 5 == 0 else
                                    "present", client_uuid=uuid.uuid4()))  # fmt: skip
    Attendance.objects.bulk_create(marks)
    return parent


def _handler_and_complaints(parent):
    """Bureau staff of 敦仁街道 and 200 complaints about an institution of that town: every open state, half of them
    routed to the handler, deadlines from two days ago to two days ahead (some overdue, some due within a day)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Region, Role
    from institutions.models import Institution
    from supervision.models import Complaint, ComplaintCategory

    today = timezone.localdate()
    town = Region.objects.get(code=TOWN, valid_to__isnull=True)
    handler = _user("bench_home_handler", "压测首页承办人", Role.BUREAU_STAFF, region=town)
    have = Complaint.objects.filter(tracking_number__startswith=TRACKING_PREFIX).count()
    if have < HANDLER_COMPLAINTS:
        institution = Institution.objects.filter(town=town).order_by("pk").first() or Institution.objects.create(
            name="压测首页培训学校", town=town, status="unlicensed", address="涪陵区压测路 1 号"
        )
        categories = list(ComplaintCategory.objects.order_by("pk"))
        statuses = ["submitted", "accepted", "assigned", "investigating"]
        Complaint.objects.bulk_create(
            Complaint(
                tracking_number=f"{TRACKING_PREFIX}{n:05d}",
                parent=parent,
                institution=institution,
                town=town,
                category=categories[n % len(categories)],
                description="压测数据：首页计数的一件投诉。",
                occurred_at=timezone.now(),
                status=statuses[n % len(statuses)],
                handler=handler if n % 2 else None,
                sla_phase="answer",
                sla_started_on=today - timedelta(days=10),
                sla_due_on=today + timedelta(days=n % 5 - 2),
            )
            for n in range(have, HANDLER_COMPLAINTS)
        )
    return handler


def setup() -> dict[str, str]:
    from django.core.management import call_command
    from django.db import connection

    # A page names its stylesheets through the production storage's manifest (DEBUG off): collect them first, as a
    # deployment does (into STATIC_ROOT, git-ignored; nothing is copied again when unchanged).
    call_command("collectstatic", interactive=False, verbosity=0)

    parent = _parent()
    handler = _handler_and_complaints(parent)
    if connection.vendor == "postgresql":  # as autovacuum would have by the time such tables serve traffic
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE supervision_complaint; ANALYZE afterschool_attendance; ANALYZE afterschool_student")
    from accounts.models import User

    nobody = User.objects.filter(username="bench_home_norole").first() or User.objects.create_user(
        username="bench_home_norole", name="压测无角色用户"
    )
    return {
        "portal_parent_cookie": _cookie(parent),
        "portal_handler_cookie": _cookie(handler),
        "portal_norole_cookie": _cookie(nobody),
    }
