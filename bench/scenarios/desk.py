"""The handler's desk under load (`make bench BENCH_ARGS="--only desk"`), and the board's scale timing
(`.venv/bin/python bench/scenarios/desk.py [--complaints 200000]`).

Rows (a district supervisor signed in with a web session, so every town is in scope):
- `GET /desk/` : the queue, 50 rows a page, with its filter counts. Goal (issue 17) ≥ 0.3 of the bare view.
- `GET /desk/complaints/<id>/` : a complaint's staff page (timeline, duplicates, actions). Goal ≥ 0.3.
- `GET /desk/board/` : the supervisor's board over every complaint seeded (DESK_COMPLAINTS, default 20,000; the
  scale timing below goes further). Measured only: its cost grows with the rows it aggregates, in a fixed number
  of queries.

The rows are made with bulk_create (not through the services: they audit and notify each one), spread over the 27
towns, the categories and the states, with answered ones carrying the figures the board reads (on time, working
days, reopen, rating). Seeding is idempotent: it adds only what is missing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

BENCH_TAG = "bench-desk"
SUPERVISOR = "bench_desk_supervisor"
COMPLAINTS = int(os.environ.get("DESK_COMPLAINTS", "20000"))

ENDPOINTS = [
    Endpoint("GET /desk/ (queue, 50 rows)", "/desk/", {"Cookie": "{desk_cookie}"}, goal=0.3),
    Endpoint("GET /desk/complaints/<id>/", "/desk/complaints/{desk_complaint_id}/", {"Cookie": "{desk_cookie}"},
             goal=0.3),  # fmt: skip
    Endpoint("GET /desk/board/ (all seeded)", "/desk/board/", {"Cookie": "{desk_cookie}"}),
]


def seed(count: int) -> int:
    """At least `count` bench complaints (added in batches of 5,000); returns how many were added."""
    import random
    from datetime import timedelta

    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from accounts.models import Membership, Region, Role, User
    from institutions.models import Institution, Status
    from supervision.models import Complaint, ComplaintCategory

    district = Region.objects.get(code="500102", valid_to__isnull=True)
    towns = list(Region.objects.filter(parent=district, valid_to__isnull=True).order_by("code"))
    parent = User.objects.filter(username="bench_desk_parent").first() or User.objects.create_user(
        username="bench_desk_parent", name="压测家长"
    )
    Membership.objects.get_or_create(user=parent, role=Role.PARENT, region=None)
    handlers = []
    for i, town in enumerate(towns):
        user = User.objects.filter(username=f"bench_desk_handler_{i}").first() or User.objects.create_user(
            username=f"bench_desk_handler_{i}", name=f"压测承办人{i}"
        )
        Membership.objects.get_or_create(user=user, role=Role.BUREAU_STAFF, region=town)
        handlers.append(user)
    institutions = []
    for i, town in enumerate(towns):
        name = f"涪陵区压测工作台机构{i}"
        inst = Institution.objects.filter(name=name, found_via=BENCH_TAG).first() or Institution.objects.create(
            name=name, town=town, status=Status.LICENSED, found_via=BENCH_TAG, address="涪陵区压测路 2 号"
        )
        institutions.append(inst)
    have = Complaint.objects.filter(tracking_number__startswith="TS-DESK-").count()
    categories = list(ComplaintCategory.objects.all())
    statuses = ["submitted", "accepted", "assigned", "investigating", "answered", "closed", "closed", "closed"]
    today, now = timezone.localdate(), timezone.now()
    added = 0
    for start in range(have, count, 5000):
        rows = []
        for n in range(start, min(count, start + 5000)):
            rnd = random.Random(n)
            t = n % len(towns)
            age = rnd.randint(0, 400)
            # Open ones are recent (a few weeks of work in hand); older ones are answered or closed.
            status = statuses[n % len(statuses)] if age < 20 else statuses[4 + n % 4]
            done = status in ("answered", "closed")
            created = now - timedelta(days=age, minutes=n % 1440)
            rows.append(
                Complaint(
                    tracking_number=f"TS-DESK-{n:07d}",
                    parent=parent,
                    institution=institutions[t],
                    town=towns[t],
                    category=categories[n % len(categories)],
                    description="压测数据：工作台中的一件投诉。",
                    occurred_at=created,
                    status=status,
                    handler=handlers[t] if n % 5 else None,
                    sla_phase="" if done else "answer",
                    sla_started_on=created.date(),
                    sla_due_on=None if done else today + timedelta(days=rnd.randint(-5, 15)),
                    outcome="substantiated" if done else "",
                    answer="压测答复：已核查处理。" if done else "",
                    answered_at=created + timedelta(days=rnd.randint(1, 20)) if done else None,
                    answered_on_time=rnd.random() < 0.85 if done else None,
                    answer_working_days=rnd.randint(1, 18) if done else None,
                    reopened_at=created + timedelta(days=5) if done and rnd.random() < 0.08 else None,
                    rating=rnd.randint(2, 5) if status == "closed" else None,
                )
            )
        Complaint.objects.bulk_create(rows)
        added += len(rows)
    if added:  # created_at is auto_now_add: spread over 400 days like occurred_at
        Complaint.objects.filter(tracking_number__startswith="TS-DESK-").update(created_at=F("occurred_at"))
        if connection.vendor == "postgresql":  # as autovacuum would have by the time such a table serves traffic
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE supervision_complaint")
    return added


def setup() -> dict[str, str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from accounts.models import Membership, Region, Role, User
    from supervision.models import Complaint

    began = time.perf_counter()
    added = seed(COMPLAINTS)
    print(f"desk: {added} complaints added in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    district = Region.objects.get(code="500102", valid_to__isnull=True)
    user = User.objects.filter(username=SUPERVISOR).first() or User.objects.create_user(
        username=SUPERVISOR, name="压测督办"
    )
    Membership.objects.get_or_create(user=user, role=Role.BUREAU_ADMIN, region=district)
    complaint = Complaint.objects.filter(tracking_number__startswith="TS-DESK-", status="investigating").first()
    call_command("collectstatic", interactive=False, verbosity=0)  # pages name their static files (DEBUG off)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {
        "desk_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "desk_complaint_id": str(complaint.pk),
    }


def board_timing(count: int) -> None:
    """Seed `count` complaints, then time the board's selector and count its queries (in process)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from supervision.complaints import selectors
    from supervision.models import Complaint

    began = time.perf_counter()
    added = seed(count)
    print(f"seeded {added} (now {Complaint.objects.count()} complaints) in {time.perf_counter() - began:.1f} s")
    setup_user = User.objects.filter(username=SUPERVISOR).first()
    if setup_user is None:
        setup()
        setup_user = User.objects.get(username=SUPERVISOR)
    for days in (30, 365):
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            board = selectors.supervisor_board(setup_user, days=days, today=timezone.localdate())
            took = time.perf_counter() - began
        print(f"board over {days} days: {board['total'].received} received, {len(ctx.captured_queries)} queries, "
              f"{took * 1000:.0f} ms on {connection.vendor}")  # fmt: skip


if __name__ == "__main__":
    import argparse

    import django

    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=COMPLAINTS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    board_timing(args.complaints)
