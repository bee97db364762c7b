# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""A draw over 100,000 institutions: the candidates are read in a bounded number of queries, whatever the size of the
registry, and the whole draw (reading, drawing, writing the visits) too. The figures on PostgreSQL with the bench
registry are in bench/scenarios/inspections.py and the README."""

from __future__ import annotations

import math
import time

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Region
from institutions.models import Institution
from supervision.inspections import plans
from supervision.models import Inspection
from tests.conftest import DISTRICT, region
from tests.supervision.inspection_fixtures import make_plan, team  # noqa: F401

pytestmark = pytest.mark.django_db

REGISTRY = 100_000


def seed(n: int) -> dict[str, int]:
    """n licensed institutions spread over every town, graded as a real registry is (half A, then B, C, D), written
    with one INSERT … SELECT per town (a minute through the ORM, a second or two this way). Returns the grade counts."""
    towns = list(Region.objects.filter(parent__isnull=False, valid_to__isnull=True).values_list("pk", flat=True))
    per, extra = divmod(n, len(towns))
    columns = (
        "name, name_initials, licence_number, category, mode, legal_representative, contact_phone, address, town_id, "
        "status, status_reason, found_via, risk_grade, on_national_platform, created_at, updated_at"
    )
    grade = "CASE WHEN i %% 10 < 5 THEN 'A' WHEN i %% 10 < 8 THEN 'B' WHEN i %% 10 = 8 THEN 'C' ELSE 'D' END"
    now = timezone.now()
    with connection.cursor() as cursor:
        for j, town_id in enumerate(towns):
            rows = per + (1 if j < extra else 0)
            cursor.execute(
                f"WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {int(rows)}) "
                f"INSERT INTO {Institution._meta.db_table} ({columns}) "
                f"SELECT 'scale-{int(town_id)}-' || i, '', '', 'arts', 'offline', '', '', '涪陵区', {int(town_id)}, "
                f"'licensed', '', 'scale', {grade}, %s, %s, %s FROM seq",
                [False, now, now],
            )
    return dict(Institution.objects.values_list("risk_grade").annotate(n=Count("id")).values_list("risk_grade", "n"))


def test_a_draw_over_100000_institutions_reads_them_in_a_bounded_number_of_queries(bureau_staff, team):
    started = time.perf_counter()
    grades = seed(REGISTRY)
    seed_s = time.perf_counter() - started
    assert Institution.objects.count() == REGISTRY
    # The whole district (every town), by risk grade at R-INSP-1's 5/10/20/40 %.
    plan = make_plan(bureau_staff, team, region_id=region(DISTRICT).pk)
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        inputs = plans.draw_inputs(plan)
        read_s = time.perf_counter() - started
    assert len(inputs["candidates"]) == REGISTRY
    assert len(ctx.captured_queries) <= 5, [q["sql"][:120] for q in ctx.captured_queries]

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        record = plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="scale")
        draw_s = time.perf_counter() - started
    drawn = len(record.result["assignments"])
    # Each grade drawn at its R-INSP-1 share (5/10/20/40 %), rounded up: about 11,500 of 100,000.
    shares = {"A": plan.share_grade_a, "B": plan.share_grade_b, "C": plan.share_grade_c, "D": plan.share_grade_d}
    assert drawn == sum(math.ceil(grades[g] * shares[g]) for g in grades), (drawn, grades)
    assert Inspection.objects.filter(plan=plan).count() == drawn
    # Bulk inserts in batches (SQLite's are smaller), never a query per row: about 20 on PostgreSQL.
    assert len(ctx.captured_queries) < drawn / 20, len(ctx.captured_queries)
    print(
        f"\n{connection.vendor}: seeded in {seed_s:.1f} s; candidates read in {read_s:.2f} s; whole draw {draw_s:.2f} s"
    )
