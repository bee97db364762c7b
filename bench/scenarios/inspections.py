"""Inspections at scale (`.venv/bin/python bench/scenarios/inspections.py`).

- A random draw over the seeded registry (100,000 institutions, bench.run.seed_registry): the candidates, recent
  visits, pool and conflicts are read in a fixed number of queries (counted here, and asserted by
  tests/supervision/test_inspection_draw.py); the whole draw (reading, the pure draw, writing the visits and
  assignments) is timed inside a transaction that is rolled back, so the run can be repeated.
- POST /api/v1/inspections/sync: one batch of 200 records against 200 requests of one record each, in the same run,
  through the whole Django stack (token auth, middleware, JSON) with the test client. Goal: the batch costs at most a
  tenth of the 200 single syncs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REGISTRY = 100_000
RECORDS = 200

ENDPOINTS: list = []  # measured here with timings(), not under wrk


def _bench_users():
    from accounts.models import Membership, Region, Role, User

    district = Region.objects.get(code="500102", valid_to__isnull=True)
    town = Region.objects.get(code="500102006", valid_to__isnull=True)
    users = {}
    for username, role, region in (
        ("bench_insp_supervisor", Role.BUREAU_ADMIN, district),
        ("bench_insp_1", Role.INSPECTOR, town),
        ("bench_insp_2", Role.INSPECTOR, town),
        ("bench_insp_3", Role.INSPECTOR, town),
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, name=username, password="Bench-Insp-2026")
            Membership.objects.create(user=user, role=role, region=region)
        users[username] = user
    return users


def _draw(users) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from supervision.inspections import plans

    out = {}
    with transaction.atomic():
        plan = plans.plan_create(
            actor=users["bench_insp_supervisor"],
            name="bench draw",
            period_start=__import__("datetime").date(2026, 11, 1),
            period_end=__import__("datetime").date(2026, 12, 31),
            region_id=users["bench_insp_supervisor"].memberships.get().region_id,
            inspector_ids=[users[f"bench_insp_{n}"].pk for n in (1, 2, 3)],
            statuses=["licensed", "rectifying", "expired", "suspended"],
        )
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            inputs = plans.draw_inputs(plan)
        out["read_candidates"] = {
            "candidates": len(inputs["candidates"]),
            "queries": len(ctx),
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            record = plans.plan_draw(actor=users["bench_insp_supervisor"], plan_id=plan.pk, seed="bench")
        out["whole_draw"] = {
            "drawn": len(record.result["assignments"]),
            "queries": len(ctx),
            "seconds": round(time.perf_counter() - started, 2),
        }
        transaction.set_rollback(True)
    return out


def _sync(users) -> dict:
    import json
    import uuid

    from django.test import Client
    from django.utils import timezone

    from accounts.services import auth_login
    from institutions.models import Institution
    from supervision.inspections import checklists
    from supervision.models import Inspection, InspectionAssignment

    inspector = users["bench_insp_1"]
    token = auth_login(identifier=inspector.username, password="Bench-Insp-2026").access_token
    inst = Institution.objects.filter(town__code="500102006").first()
    visits = []
    for _ in range(2):
        v = Inspection.objects.create(
            institution=inst, town_id=inst.town_id, checklist_version=checklists.current_checklist()
        )
        InspectionAssignment.objects.create(inspection=v, inspector=inspector)
        visits.append(v)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "127.0.0.1"}
    when = (timezone.localtime() - timezone.timedelta(minutes=5)).isoformat()

    def records(visit, n):
        return [
            {"uuid": str(uuid.uuid4()), "inspection_id": visit.pk, "kind": "note", "client_time": when,
             "data": {"text": f"记录 {i}"}}
            for i in range(n)
        ]  # fmt: skip

    def post(batch):
        r = client.post("/api/v1/inspections/sync", json.dumps({"records": batch}), "application/json", **headers)
        assert r.status_code == 200, r.content[:300]
        return r

    post(records(visits[0], 1))  # warm up both paths once: imports, caches, prepared statements
    post(records(visits[1], RECORDS))
    rounds = []
    for _ in range(3):  # a 2-core machine is noisy: three rounds, each pair measured back to back
        singles = records(visits[0], RECORDS)
        started = time.perf_counter()
        for rec in singles:
            post([rec])
        single_s = time.perf_counter() - started
        started = time.perf_counter()
        post(records(visits[1], RECORDS))
        batch_s = time.perf_counter() - started
        rounds.append({"singles_200_s": round(single_s, 3), "batch_200_s": round(batch_s, 3),
                       "ratio": round(batch_s / single_s, 3)})  # fmt: skip
    ratios = sorted(r["ratio"] for r in rounds)
    return {"rounds": rounds, "median_ratio": ratios[1], "goal": "batch ≤ 0.1 × singles", "met": ratios[1] <= 0.1}


def timings() -> dict:
    from django.db import connection

    from bench.run import seed_registry

    out = {"database": connection.vendor, "registry": seed_registry(REGISTRY)}
    users = _bench_users()
    out["draw"] = _draw(users)
    out["sync"] = _sync(users)
    return out


def setup() -> dict[str, str]:
    return {}


if __name__ == "__main__":
    from bench.run import timing_script

    sys.exit(timing_script(__file__, timings, label="inspections"))
