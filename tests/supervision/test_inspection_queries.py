# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""The phone's assigned list and the public results cost the same queries for 10 and for 100 rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import FindingFactory, InspectionFactory, InspectionPlanFactory
from tests.supervision.inspection_fixtures import team  # noqa: F401

pytestmark = pytest.mark.django_db


def visits(n, inspector, plan=None, **extra):
    made = []
    for _ in range(n):
        v = InspectionFactory(plan=plan, inspectors=[inspector], **extra)
        FindingFactory(inspection=v)
        made.append(v)
    return made


def count(client, path):
    client.get(path)  # warm: the token lookup may be cached after the first request (production lane)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200, r.content
    return len(ctx), r.json()


def test_assigned_costs_the_same_for_10_and_100_visits(api_as, team):
    phone = api_as(team[0])
    visits(10, team[0])
    small, body = count(phone, "inspections/assigned")
    assert len(body["visits"]) == 10
    visits(90, team[0])
    large, body = count(phone, "inspections/assigned")
    assert len(body["visits"]) == 100 and large == small


def test_public_results_cost_the_same_for_10_and_100_rows(anon, bureau_staff, team):
    plan = InspectionPlanFactory(
        region_id=team[0].memberships.get().region_id, created_by=bureau_staff, status="finished",
        published_at=timezone.now(),
    )  # fmt: skip
    done = {"status": "complete", "completed_at": timezone.now(), "result": "rectification"}
    visits(10, team[0], plan=plan, **done)
    small, body = count(anon, "inspection-results?page_size=100")
    assert body["count"] == 10
    visits(90, team[0], plan=plan, **done)
    large, body = count(anon, "inspection-results?page_size=100")
    assert body["count"] == 100 and len(body["items"]) == 100 and large == small
