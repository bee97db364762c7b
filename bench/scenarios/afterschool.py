"""After-school services under load (`make bench BENCH_ARGS="--only afterschool"`), and the allocation timing
(`.venv/bin/python bench/scenarios/afterschool.py`).

Rows, on a bench school of 200 sessions (40 programmes × 5 weekdays) and 2,000 students (50 per programme):
- `GET …/schools/{id}/schedule-check` by the school admin: the R-ASS-1 report over a term of ~80 school days.
- `GET …/my-sessions?date=` by a teacher: the day's session with its roster of 50.
- `POST …/attendance/batch` of 50 marks by that teacher, the same batch every time: what a phone that resends an
  offline batch costs (all 50 answered "unchanged", nothing written twice).

Goals, from the district's size (about 200 schools, 3,000 teachers): at 16:00 every teacher opens the day's sessions
within a few minutes and sends one batch, i.e. tens of requests a second; the schedule check is a page an admin or
the bureau opens now and then. So my-sessions ≥ 0.02 of the bare view (about 100 req/s here), the batch ≥ 0.015 and
the schedule check ≥ 0.005 keep one 2-core box well ahead of that; the rows exist to catch regressions.

The allocation timing builds a choice window of 10 programmes (1,500 places) over the bench school's 2,000
students, 3 ranked choices each, and times the pure allocation and the whole service (load, draw, bulk writes,
audit rows) inside a transaction that is rolled back, so it can be run again and again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

SCHOOL_NAME = "涪陵区压测实验学校"
TOWN = "500102008"  # 荔枝街道
PROGRAMMES, STUDENTS = 40, 2000

ENDPOINTS = [
    Endpoint(
        "GET afterschool schedule-check (200 sessions, 2,000 students)",
        "/api/v1/afterschool/schools/{as_school_id}/schedule-check",
        {"Authorization": "Bearer {as_admin_token}"},
        goal=0.005,
    ),
    Endpoint(
        "GET afterschool my-sessions (roster of 50)",
        "/api/v1/afterschool/my-sessions?date={as_day}",
        {"Authorization": "Bearer {as_teacher_token}"},
        goal=0.02,
    ),
    Endpoint(
        "POST afterschool attendance batch of 50 (resent)",
        "/api/v1/afterschool/attendance/batch",
        {"Authorization": "Bearer {as_teacher_token}"},
        goal=0.015,
        method="POST",
        body="{as_batch}",
    ),
]


def _user(username: str, name: str, role: str, school):
    """The bench user with its membership, and a fresh access token. Its password and other sessions are left alone:
    a password set again would sign out the web sessions another scenario made for the same user."""
    from accounts.models import Membership, User

    user = User.objects.filter(username=username).first() or User.objects.create_user(username=username, name=name)
    if not user.is_active:
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
    Membership.objects.get_or_create(user=user, role=role, school_id=school.pk, defaults={"is_active": True})
    return user, bench_token(user)


def bench_token(user) -> str:
    """An access token of a new session of `user`, as a sign-in would make (without the password round)."""
    import secrets

    from django.conf import settings
    from django.utils import timezone

    from accounts.models import AuthSession
    from accounts.services import REFRESH_PREFIX, _new_access_token, hash_token

    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        refresh_hash=hash_token(REFRESH_PREFIX + secrets.token_urlsafe(32)),
        refresh_expires_at=now + settings.REFRESH_TOKEN_TTL,
        device="bench",
        last_used_at=now,
    )
    return _new_access_token(session, now)[0]


def _bench_school():
    """The school, its term around today, 40 classes, 40 programmes with a teacher and a room each, a session every
    weekday 16:00-18:00, 2,000 students enrolled 50 per programme. Idempotent: keyed by names."""
    from datetime import time, timedelta

    from django.utils import timezone

    from accounts.models import Region, Role, User
    from afterschool.schedule.models import (
        Application,
        Programme,
        Room,
        School,
        SchoolClass,
        Session,
        Staff,
        Student,
        Term,
    )

    today = timezone.localdate()
    town = Region.objects.get(code=TOWN, valid_to__isnull=True)
    school, _ = School.objects.get_or_create(name=SCHOOL_NAME, defaults={"town": town})
    term, _ = Term.objects.get_or_create(
        school=school,
        name="压测学期",
        defaults={"starts_on": today - timedelta(days=70), "ends_on": today + timedelta(days=50)},
    )
    if Session.objects.filter(school=school).count() >= PROGRAMMES * 5:
        return school, term
    classes = [
        SchoolClass.objects.get_or_create(school=school, grade=1 + i % 6, number=1 + i // 6)[0] for i in range(40)
    ]
    programmes = [
        Programme.objects.get_or_create(
            term=term,
            name=f"压测项目{i:02d}",
            defaults={"school": school, "kind": "clubs", "grade_min": 1, "grade_max": 6, "capacity": 60},
        )[0]
        for i in range(PROGRAMMES)
    ]
    staff, rooms = [], []
    for i in range(PROGRAMMES):
        user = User.objects.filter(username=f"bench_as_t{i:02d}").first() or User.objects.create_user(
            username=f"bench_as_t{i:02d}", name=f"压测老师{i:02d}"
        )
        from accounts.models import Membership

        Membership.objects.get_or_create(user=user, role=Role.TEACHER, school_id=school.pk)
        staff.append(Staff.objects.get_or_create(school=school, user=user, defaults={"name": user.name})[0])
        rooms.append(Room.objects.get_or_create(school=school, name=f"压测教室{i:02d}")[0])
    Session.objects.filter(school=school).delete()
    Session.objects.bulk_create(
        Session(
            programme=programmes[i],
            school=school,
            weekday=w,
            starts_at=time(16, 0),
            ends_at=time(18, 0),
            room=rooms[i],
            staff=staff[i],
            first_date=term.starts_on,
            last_date=term.ends_on,
        )
        for i in range(PROGRAMMES)
        for w in range(5)
    )
    have = Student.objects.filter(school=school).count()
    Student.objects.bulk_create(
        Student(school=school, school_class=classes[n % 40], name=f"压测学生{n:04d}") for n in range(have, STUDENTS)
    )
    students = list(Student.objects.filter(school=school).order_by("id"))
    Application.objects.filter(programme__school=school).delete()
    Application.objects.bulk_create(
        Application(student=s, programme=programmes[n % PROGRAMMES], status="approved", active_from=term.starts_on)
        for n, s in enumerate(students)
    )
    return school, term


def setup() -> dict[str, str]:
    import uuid

    from django.utils import timezone

    from accounts.models import Role
    from afterschool.schedule import calendar
    from afterschool.schedule.models import Application, Session

    school, term = _bench_school()
    _, admin_token = _user("bench_as_admin", "压测校管理员", Role.SCHOOL_ADMIN, school)
    teacher, teacher_token = _user("bench_as_t00", "压测老师00", Role.TEACHER, school)
    today = timezone.localdate()
    day = max(d for d in calendar.school_days(term, term.starts_on, today))
    session = Session.objects.get(staff__user=teacher, weekday=calendar.school_days(term, day, day)[day])
    roster = list(
        Application.objects.filter(programme=session.programme, status="approved")
        .order_by("student_id")
        .values_list("student_id", flat=True)[:50]
    )
    namespace = uuid.UUID("0b5c6f0e-8a63-4a43-a3f1-3f2f3c1d9e01")
    batch = {
        "records": [
            {
                "client_uuid": str(uuid.uuid5(namespace, f"{session.pk}-{sid}-{day}")),
                "session_id": session.pk,
                "student_id": sid,
                "date": str(day),
                "mark": "present",
            }
            for sid in roster
        ]
    }
    return {
        "as_school_id": str(school.pk),
        "as_admin_token": admin_token,
        "as_teacher_token": teacher_token,
        "as_day": str(day),
        "as_batch": json.dumps(batch),
    }


# --- Allocation timing ----------------------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def allocation_timing(applicants: int = STUDENTS, rounds: int = 3) -> dict:
    """Inside Django: 2,000 children × 3 ranked choices over 10 programmes of 150 places."""
    import random
    import statistics
    import time
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from afterschool.schedule.allocation import Applicant, allocate
    from afterschool.schedule.enrolment import window_allocate
    from afterschool.schedule.models import Application, ChoiceWindow, Programme, Student

    school, term = _bench_school()
    rng = random.Random(5)
    ids = list(range(1, applicants + 1))
    people = [Applicant(i, rng.random() < 0.1, tuple(rng.sample(range(1, 11), 3))) for i in ids]
    pure = []
    for seed in range(rounds):
        started = time.perf_counter()
        allocate(people, {p: 150 for p in range(1, 11)}, seed)
        pure.append((time.perf_counter() - started) * 1000)

    service = []
    for seed in range(rounds):
        try:
            with transaction.atomic():
                programmes = [
                    Programme.objects.create(
                        school=school,
                        term=term,
                        name=f"压测热门{seed}-{i}",
                        kind="science_tech",
                        grade_min=1,
                        grade_max=6,
                        capacity=150,
                    )
                    for i in range(10)
                ]
                now = timezone.now()
                window = ChoiceWindow.objects.create(
                    school=school,
                    term=term,
                    name="压测志愿",
                    opens_at=now - timedelta(days=2),
                    closes_at=now - timedelta(minutes=1),
                )
                window.programmes.set(programmes)
                students = list(Student.objects.filter(school=school).order_by("id")[:applicants])
                Application.objects.bulk_create(
                    [
                        Application(
                            student=s,
                            programme=programmes[c],
                            status="choice",
                            window=window,
                            rank=r + 1,
                            priority=rng.random() < 0.1,
                        )
                        for s in students
                        for r, c in enumerate(rng.sample(range(10), 3))
                    ],
                    batch_size=2000,
                )
                started = time.perf_counter()
                window_allocate(actor=None, window_id=window.pk, seed=seed)
                service.append((time.perf_counter() - started) * 1000)
                placed = Application.objects.filter(window=window, status="approved").count()
                raise _Rollback
        except _Rollback:
            pass
    return {
        "applicants": applicants,
        "choices_each": 3,
        "places": 1500,
        "placed": placed,
        "pure_allocation_ms_median": round(statistics.median(pure), 1),
        "service_with_database_ms_median": round(statistics.median(service), 1),
        "service_ms": [round(x, 1) for x in service],
    }


if __name__ == "__main__":
    from bench.run import timing_script

    sys.exit(timing_script(__file__, allocation_timing, label="allocation"))
