"""The district dashboard at Chongqing scale (`make bench BENCH_ARGS="--only dashboard"`).

Seeds (idempotently, with bulk_create in batches; marked so a second run adds only what is missing) what issue 18
names: 20,000 institutions (the registry seed of run.py, `--institutions`), 200,000 complaints, 50,000 inspections
(with findings and rectification orders) and 1,000,000 attendance rows (on the afterschool scenario's bench school).
`BENCH_DASHBOARD_SCALE=0.1` seeds a tenth of each (the registry too when run in-process, see below).

Rows (web pages, signed in as bureau staff of the district with a session cookie):
- `GET /console/dashboard/` (cached figures: at most five minutes old, the page says how old): goal 0.3 of the bare
  view;
- `GET /console/dashboard/?fresh=1` (every figure recomputed: what the first view after the cache expires costs):
  measured, no goal.

In-process (no wrk): `python bench/scenarios/dashboard.py [--scale 0.1]` seeds, then reports the dashboard's query
count and server time (median of 5, Django test client) against the bare view's in the same process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

MARK = "BENCH-DASH-"
BATCH = 5000
COMPLAINTS = 200_000
INSPECTIONS = 50_000
ATTENDANCE = 1_000_000
INSTITUTIONS = 20_000

ENDPOINTS = [
    Endpoint("GET dashboard district (cached)", "/console/dashboard/", {"Cookie": "{dash_cookie}"}, goal=0.3),
    Endpoint("GET dashboard district (recomputed)", "/console/dashboard/?fresh=1", {"Cookie": "{dash_cookie}"}),
]


def _scale() -> float:
    return float(os.environ.get("BENCH_DASHBOARD_SCALE", "1"))


def _staff():
    from accounts.models import Membership, Region, Role, User

    user = User.objects.filter(username="bench_dash_staff").first() or User.objects.create_user(
        username="bench_dash_staff", name="压测科员"
    )
    district = Region.objects.get(code="500102", valid_to__isnull=True)
    Membership.objects.get_or_create(user=user, role=Role.BUREAU_STAFF, region=district, defaults={"is_active": True})
    return user


def _cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _institutions(n: int) -> list[tuple[int, int]]:
    """(id, town id) of up to n institutions (run.py seeds the registry; the in-process run seeds it itself)."""
    from institutions.models import Institution

    return list(Institution.objects.order_by("pk").values_list("pk", "town_id")[:n])


def seed_complaints(n: int, insts) -> int:
    import random
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from supervision.complaints.models import Complaint, ComplaintCategory

    have = Complaint.objects.filter(tracking_number__startswith=MARK).count()
    if have >= n:
        return 0
    parent = User.objects.filter(username="bench_dash_parent").first() or User.objects.create_user(
        username="bench_dash_parent", name="压测家长"
    )
    categories = list(ComplaintCategory.objects.values_list("pk", flat=True))
    now, today = timezone.now(), timezone.localdate()
    statuses = ["submitted", "accepted", "assigned", "investigating", "answered", "closed", "closed", "closed"]
    made = 0
    for start in range(have, n, BATCH):
        rows = []
        for i in range(start, min(n, start + BATCH)):
            rnd = random.Random(i)
            inst, town = insts[i % len(insts)]
            status = rnd.choice(statuses)
            created = now - timedelta(days=rnd.randint(0, 400), minutes=rnd.randint(0, 1440))
            answered = created + timedelta(days=rnd.randint(1, 20)) if status in ("answered", "closed") else None
            rows.append(Complaint(
                tracking_number=f"{MARK}{i:07d}", parent=parent, institution_id=inst, town_id=town,
                category_id=rnd.choice(categories), description="压测投诉", occurred_at=created, status=status,
                sla_phase="answer" if status in ("accepted", "assigned", "investigating") else "",
                sla_due_on=today + timedelta(days=rnd.randint(-10, 15)) if status != "closed" else None,
                answered_at=answered, sla_escalated=rnd.random() < 0.1,
                outcome="substantiated" if status in ("answered", "closed") else "",
                closed_at=answered if status == "closed" else None,
            ))  # fmt: skip
        made += len(Complaint.objects.bulk_create(rows, batch_size=1000))
    # created_at is auto_now_add: spread it over the year (by id) as filings would be.
    from django.db.models import F

    Complaint.objects.filter(tracking_number__startswith=MARK).update(created_at=F("occurred_at"))
    return made


def _ensure_checklist():
    import importlib

    from django.apps import apps

    from supervision.models import ChecklistTemplate

    if not ChecklistTemplate.objects.exists():
        importlib.import_module("supervision.migrations.0005_load_checklist").load(apps, None)


def seed_visits(n: int, insts, staff) -> int:
    """Inspections (notes=MARK) in every state over this year, one finding in five, an order for half of those."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from supervision.inspections.checklists import current_checklist
    from supervision.models import Finding, Inspection, RectificationOrder

    _ensure_checklist()
    have = Inspection.objects.filter(notes=MARK).count()
    if have >= n:
        return 0
    version = current_checklist()
    now, today = timezone.now(), timezone.localdate()
    statuses = ["assigned", "in_progress", "awaiting_photos", "complete", "complete", "complete", "cancelled"]
    rules = ["R-FEE-1", "R-FEE-2", "R-TIME-1", "R-STAFF-1", "R-SITE-1", "R-PUB-1", "R-SAFE-1"]
    made = 0
    for start in range(have, n, BATCH):
        visits = []
        for i in range(start, min(n, start + BATCH)):
            rnd = random.Random(1_000_000 + i)
            inst, town = insts[i % len(insts)]
            status = rnd.choice(statuses)
            visits.append(Inspection(
                institution_id=inst, town_id=town, checklist_version=version, status=status, notes=MARK,
                due_by=today.replace(month=1, day=1) + timedelta(days=rnd.randint(0, 364)),
                completed_at=now - timedelta(days=rnd.randint(0, 300)) if status == "complete" else None,
            ))  # fmt: skip
        visits = Inspection.objects.bulk_create(visits, batch_size=1000)
        findings = []
        for v in visits:
            rnd = random.Random(v.pk)
            if rnd.random() < 0.2:
                findings.append(Finding(inspection=v, institution_id=v.institution_id, rule_id=rnd.choice(rules),
                                        severity="medium", description="压测问题"))  # fmt: skip
        findings = Finding.objects.bulk_create(findings, batch_size=1000)
        town_of = {v.pk: v.town_id for v in visits}
        orders = []
        for f in findings[::2]:
            rnd = random.Random(f.pk)
            status = rnd.choice(["open", "open", "answered"])
            orders.append(RectificationOrder(
                finding=f, institution_id=f.institution_id, town_id=town_of[f.inspection_id],
                status=status, due_on=today + timedelta(days=rnd.randint(-20, 20)), evidence_required="整改",
                response="已整改" if status == "answered" else "", issued_by=staff,
            ))  # fmt: skip
        RectificationOrder.objects.bulk_create(orders, batch_size=1000)
        made += len(visits)
    return made


def seed_attendance(n: int) -> int:
    """Attendance rows on the afterschool scenario's bench school: each enrolled student at their programme's
    sessions, week after week back from today, until n rows."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from afterschool.schedule.models import Application, Attendance, Session
    from bench.scenarios.afterschool import _bench_school

    school, _term = _bench_school()
    have = Attendance.objects.filter(session__school=school).count()
    if have >= n:
        return 0
    sessions = list(Session.objects.filter(school=school).values_list("pk", "programme_id", "weekday"))
    students: dict[int, list[int]] = {}
    for pid, sid in Application.objects.filter(programme__school=school, status="approved").values_list(
        "programme_id", "student_id"
    ):
        students.setdefault(pid, []).append(sid)
    pairs = [(s_pk, wd, st) for s_pk, pid, wd in sessions for st in students.get(pid, [])]
    if not pairs:
        return 0
    per_week = len(pairs)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    ns = uuid.UUID("5d1c3f7e-1d0b-4c1e-9b1a-7a0f0e6d2b11")
    made, index = 0, have
    while index < n:
        rows = []
        for j in range(index, min(n, index + BATCH)):
            week, k = divmod(j, per_week)
            session_id, weekday, student_id = pairs[k]
            day = monday - timedelta(weeks=week + 1) + timedelta(days=(weekday - 1) % 7)
            rows.append(Attendance(session_id=session_id, student_id=student_id, date=day,
                                   mark="absent" if j % 9 == 0 else "present",
                                   client_uuid=uuid.uuid5(ns, str(j))))  # fmt: skip
        Attendance.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        made += len(rows)
        index += len(rows)
    return made


def setup() -> dict[str, str]:
    import time

    scale = _scale()
    staff = _staff()
    insts = _institutions(int(INSTITUTIONS * scale))
    t0 = time.monotonic()
    c = seed_complaints(int(COMPLAINTS * scale), insts)
    v = seed_visits(int(INSPECTIONS * scale), insts, staff)
    a = seed_attendance(int(ATTENDANCE * scale))
    print(f"dashboard seed: +{c} complaints, +{v} inspections, +{a} attendance in {time.monotonic() - t0:.0f}s")
    return {"dash_cookie": _cookie(staff)}


def measure(rounds: int = 5) -> dict:
    """In process: the dashboard's queries and median server time, fresh and cached, against the bare view."""
    import statistics
    import time

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    staff = _staff()
    client = Client()
    client.force_login(staff)
    out = {}
    for name, url in (("bare", "/bench/bare"), ("fresh", "/console/dashboard/?fresh=1"),
                      ("cached", "/console/dashboard/")):  # fmt: skip
        times = []
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as q:
                t = time.perf_counter()
                r = client.get(url)
                times.append(time.perf_counter() - t)
            assert r.status_code == 200, (url, r.status_code)
        out[name] = {"ms": round(statistics.median(times) * 1000, 1), "queries": len(q)}
    for name in ("fresh", "cached"):
        out[name]["ratio"] = round(out["bare"]["ms"] / out[name]["ms"], 4)
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=None)
    args = parser.parse_args()
    if args.scale is not None:
        os.environ["BENCH_DASHBOARD_SCALE"] = str(args.scale)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("BENCH_ENDPOINTS", "1")
    import django

    django.setup()
    from bench.run import seed_registry

    seed_registry(int(INSTITUTIONS * _scale()))
    setup()
    print(measure())
