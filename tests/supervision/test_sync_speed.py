# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""POST /inspections/sync: one batch of 200 records costs at most a tenth of 200 single-record syncs, in queries
(deterministic) and in time (best of three rounds, the same run). bench/scenarios/inspections.py measures the same
on PostgreSQL through the whole stack."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supervision.inspections import checklists
from supervision.models import ChecklistAnswer, Inspection, VisitRecord
from tests.factories import InspectionFactory
from tests.institutions.helpers import make_institution
from tests.supervision.inspection_fixtures import NEARBY, record, team  # noqa: F401

pytestmark = pytest.mark.django_db

RECORDS = 200


def visit_for(inspector) -> Inspection:
    inst = make_institution(f"同步测速机构{Inspection.objects.count()}", latitude="29.7031", longitude="107.3896")
    return InspectionFactory(institution=inst, inspectors=[inspector])


def a_visit(v) -> list[dict]:
    """What a phone sends for one visit: a check-in, an answer per checklist item, then notes up to 200."""
    answers = [
        record(v, "answer", {"item_code": i.code, "value": 3 if i.answer_type == "number" else "yes"})
        for i in checklists.current_checklist().items.exclude(answer_type="photo")
    ]
    out = [record(v, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}), *answers]
    return out + [record(v, "note", {"text": f"现场记录 {n}"}) for n in range(RECORDS - len(out))]


def test_one_batch_of_200_costs_at_most_a_tenth_of_200_single_syncs(api_as, team):
    phone = api_as(team[0])

    def post(batch):
        r = phone.post("inspections/sync", {"records": batch})
        assert r.status_code == 200 and {f["status"] for f in r.json()["results"]} == {"applied"}, r.content[:300]

    post([record(visit_for(team[0]), "note", {"text": "热身"})])  # warm: imports, caches, the token
    rounds = []
    for _ in range(3):
        singles, batch = a_visit(visit_for(team[0])), a_visit(visit_for(team[0]))
        assert len(singles) == len(batch) == RECORDS
        with CaptureQueriesContext(connection) as one_by_one:
            started = time.perf_counter()
            for rec in singles:
                post([rec])
            singles_s = time.perf_counter() - started
        with CaptureQueriesContext(connection) as at_once:
            started = time.perf_counter()
            post(batch)
            batch_s = time.perf_counter() - started
        rounds.append((batch_s / singles_s, len(at_once) / len(one_by_one), singles_s, batch_s))
    time_ratio, query_ratio, singles_s, batch_s = min(rounds)
    print(f"\n{connection.vendor}: 200 single syncs {singles_s:.2f} s, one batch {batch_s:.3f} s, "
          f"ratio {time_ratio:.3f}; queries ratio {query_ratio:.3f}")  # fmt: skip
    assert query_ratio <= 0.1 and time_ratio <= 0.1, rounds
    assert VisitRecord.objects.count() == 1 + 6 * RECORDS
    answered = checklists.current_checklist().items.exclude(answer_type="photo").count()
    assert ChecklistAnswer.objects.count() == 6 * answered
