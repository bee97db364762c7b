# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Open and overdue rectification orders worsen the institution's risk grade: opening an order raises it, closing
it lowers it back, and an overdue order raises it more (institutions.risk rectifications_open / _overdue)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from accounts.models import Role
from institutions.models import Institution
from institutions.risk import SIGNAL_POINTS, recompute_risk
from supervision.inspections import rectification, sync
from tests.conftest import make_user
from tests.supervision.inspection_fixtures import NEARBY, premises, record, team, visit  # noqa: F401

pytestmark = pytest.mark.django_db


def grade(institution_id) -> str:
    return Institution.objects.values_list("risk_grade", flat=True).get(pk=institution_id)


@pytest.fixture
def low_finding(visit, team):
    """A visit with one low-severity finding (1 point: the grade stays where the registry put it)."""
    results = sync.sync_batch(
        actor=team[0],
        records=[
            record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]}),
            record(visit, "finding", {"rule_id": "R-PUB-2", "severity": "low", "description": "价目表字迹模糊"}),
            record(visit, "checkout", {}),
        ],
    )
    assert {r["status"] for r in results} == {"applied"}, results
    return visit.findings.get()


def test_the_open_signal_is_its_own_and_smaller_than_overdue():
    assert 0 < SIGNAL_POINTS["rectifications_open"] < SIGNAL_POINTS["rectifications_overdue"]


def test_opening_an_order_raises_the_grade_closing_lowers_it_back_and_overdue_raises_more(
    api_as, low_finding, team, django_capture_on_commit_callbacks
):
    inst = low_finding.institution_id
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=low_finding.institution)
    recompute_risk(inst)
    before = grade(inst)
    signals = rectification.inspection_risk_signals(inst)
    assert "rectifications_open" not in signals and "rectifications_overdue" not in signals

    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(team[0]).post(
            f"findings/{low_finding.pk}/rectification-order", {"evidence_required": "重新制作价目表"}
        )
    assert r.status_code == 201, r.content
    order_id, due_on = r.json()["id"], r.json()["due_on"]
    opened = grade(inst)
    assert opened > before, (before, opened)  # A < B < C < D: recomputed when the order is issued
    assert rectification.inspection_risk_signals(inst) == {"inspection_findings_low_12m": 1, "rectifications_open": 1}

    with time_machine.travel(date.fromisoformat(due_on) + timedelta(days=2)):
        with django_capture_on_commit_callbacks(execute=True):
            assert rectification.rectification_sweep()["escalated"] == 1  # the sweep recomputes the grade
        overdue = grade(inst)
        assert rectification.inspection_risk_signals(inst)["rectifications_overdue"] == 1
    assert overdue > opened, (opened, overdue)

    api_as(staff).post(f"rectification-orders/{order_id}/respond", {"response": "已重新制作价目表"})
    assert grade(inst) == overdue  # answered is not closed: it still counts
    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(team[0]).post(f"rectification-orders/{order_id}/verify", {"accepted": True, "note": "复查已整改"})
    assert r.json()["status"] == "closed"
    assert grade(inst) == before  # closed: back to what the finding alone gives
    assert rectification.inspection_risk_signals(inst) == {"inspection_findings_low_12m": 1}
