"""The risk grade: points from findings and outside signals, a floor from the status, stored with update_fields, and
an audit event only when the grade changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import NotFound
from core.models import AuditEvent
from institutions import risk
from institutions.models import (
    FeePackage,
    Institution,
)
from institutions.policy import Finding
from tests.factories import (
    EscrowAccountFactory,
    FeePackageFactory,
    InstitutionFactory,
    ScheduleSlotFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db


def make(status="licensed", **extra) -> Institution:
    return InstitutionFactory(name="风险测试学校", status=status, **extra)


def clean(inst) -> Institution:
    EscrowAccountFactory(institution=inst)
    FeePackageFactory(course__institution=inst, hours=24, months=3, price=Decimal("2400.00"))
    ScheduleSlotFactory(course=inst.courses.get())
    return inst


def high_findings(inst) -> Institution:
    """No escrow (R-FEE-3) and a package over the caps (R-FEE-1, R-FEE-2): three high rules."""
    FeePackageFactory(course__institution=inst, hours=120, months=12, price=Decimal("12000.00"))
    return inst


def risk_events(inst):
    return list(AuditEvent.objects.filter(verb="institution.risk", object_id=str(inst.pk)).order_by("id"))


def f(rule, severity):
    return Finding(rule, severity, "", "")


# --- Scoring -------------------------------------------------------------------------------------------------------


def test_each_rule_counts_once_at_its_worst():
    assert risk.finding_points([]) == 0
    assert risk.finding_points([f("R-TIME-2", "medium")] * 30) == 2
    assert risk.finding_points([f("R-STAFF-2", "high"), f("R-STAFF-1", "medium"), f("R-STAFF-3", "low")]) == 8
    assert risk.finding_points([f("R-X", "low"), f("R-X", "high")]) == 5


@pytest.mark.parametrize(
    ("score", "status", "grade"),
    [
        (0, "licensed", "A"),
        (1, "licensed", "A"),
        (2, "licensed", "B"),
        (4, "licensed", "B"),
        (5, "licensed", "C"),
        (9, "licensed", "C"),
        (10, "licensed", "D"),
        (0, "unlicensed", "D"),
        (0, "suspended", "D"),
        (0, "revoked", "D"),
        (0, "expired", "C"),
        (12, "expired", "D"),
        (0, "rectifying", "B"),
        (6, "rectifying", "C"),
        (0, "applied", "A"),
    ],
)
def test_grade_for_score_and_status(score, status, grade):
    assert risk.grade_for(score, status) == grade


def test_signals_are_checked():
    assert risk.signal_points(risk.clean_signals({"complaints_substantiated_12m": 3})) == 6
    with pytest.raises(ValueError, match="Unknown risk signal"):
        risk.clean_signals({"complaints": 1})
    with pytest.raises(ValueError):
        risk.clean_signals({"complaints_substantiated_12m": -1})
    with pytest.raises(ValueError):
        risk.clean_signals({"complaints_substantiated_12m": 1.5})


# --- risk_recompute ------------------------------------------------------------------------------------------------


def test_a_clean_institution_is_a():
    inst = clean(make())
    result = risk.risk_recompute(inst.pk)
    assert (result.grade, result.score, result.findings) == ("A", 0, ())
    inst.refresh_from_db()
    assert inst.risk_grade == "A" and inst.risk_updated_at is not None
    assert risk_events(inst) == []  # A was already the grade: nothing changed, nothing audited


def test_high_findings_give_c_or_d_and_are_audited_once():
    inst = high_findings(make())
    result = risk.risk_recompute(inst.pk)
    assert result.grade == "D" and result.finding_points == 15
    inst.refresh_from_db()
    assert inst.risk_grade == "D"
    (event,) = risk_events(inst)
    assert (event.from_state, event.to_state, event.actor_id, event.actor_label) == ("A", "D", None, "system")
    assert event.data["rules"] == ["R-FEE-1", "R-FEE-2", "R-FEE-3"] and event.data["findings"]["high"] == 4
    # The same grade again: the timestamp moves, no second event.
    first_stamp = inst.risk_updated_at
    risk.risk_recompute(inst.pk)
    inst.refresh_from_db()
    assert inst.risk_updated_at >= first_stamp and len(risk_events(inst)) == 1


def test_one_high_rule_is_c():
    inst = make()
    FeePackageFactory(course__institution=inst, hours=10, months=1, price=Decimal("500.00"))  # no escrow
    assert risk.risk_recompute(inst.pk).grade == "C"


def test_grade_changes_back_with_a_new_event():
    inst = high_findings(make())
    risk.risk_recompute(inst.pk)
    FeePackage.objects.all().delete()
    assert risk.risk_recompute(inst.pk).grade == "A"
    assert [(e.from_state, e.to_state) for e in risk_events(inst)] == [("A", "D"), ("D", "A")]


def test_only_the_risk_fields_are_saved():
    inst = clean(make())
    stale = Institution.objects.get(pk=inst.pk)
    Institution.objects.filter(pk=inst.pk).update(name="改名后的学校")
    before = Institution.objects.get(pk=inst.pk).updated_at
    high_findings(stale)
    risk.risk_recompute(stale.pk)
    inst.refresh_from_db()
    assert inst.name == "改名后的学校" and inst.updated_at == before


def test_signals_raise_the_grade():
    inst = clean(make())
    assert risk.risk_recompute(inst.pk, extra_signals={"complaints_substantiated_12m": 1}).grade == "B"
    assert risk.risk_recompute(inst.pk, extra_signals={"inspection_findings_high_12m": 1}).grade == "C"
    result = risk.risk_recompute(
        inst.pk, extra_signals={"complaints_substantiated_12m": 3, "inspection_findings_high_12m": 1}
    )
    assert (result.grade, result.signal_points) == ("D", 11)
    assert [(e.from_state, e.to_state) for e in risk_events(inst)] == [("A", "B"), ("B", "C"), ("C", "D")]
    assert risk_events(inst)[-1].data["signals"] == {
        "complaints_substantiated_12m": 3,
        "inspection_findings_high_12m": 1,
    }


def test_a_bad_signal_changes_nothing():
    inst = clean(make())
    with pytest.raises(ValueError):
        risk.risk_recompute(inst.pk, extra_signals={"typo": 1})
    inst.refresh_from_db()
    assert inst.risk_updated_at is None


def test_a_registered_provider_feeds_every_recompute_and_explicit_signals_win():
    inst = clean(make())

    def provider(institution_id):
        return {"complaints_substantiated_12m": 5} if institution_id == inst.pk else {}

    risk.register_risk_signal_provider(provider)
    try:
        assert risk.risk_recompute(inst.pk).grade == "D"
        assert risk.risk_recompute(inst.pk, extra_signals={"complaints_substantiated_12m": 0}).grade == "A"
    finally:
        risk.unregister_risk_signal_provider(provider)
    assert risk.risk_recompute(inst.pk).grade == "A"


@pytest.mark.parametrize("status", ["unlicensed", "suspended"])
def test_unlicensed_and_suspended_are_d(status):
    inst = clean(make(status=status))
    assert risk.risk_recompute(inst.pk).grade == "D"


def test_staff_findings_count():
    inst = clean(make())
    StaffMemberFactory(institution=inst, competence_proof="证明", in_service_teacher=True)
    assert risk.risk_recompute(inst.pk).grade == "C"


def test_missing_institution():
    with pytest.raises(NotFound):
        risk.risk_recompute(987654)


# --- Tasks ---------------------------------------------------------------------------------------------------------


def test_the_task_recomputes_by_id():
    inst = high_findings(make())
    assert risk.recompute_risk.name == "institutions.recompute_risk"
    assert risk.recompute_risk.delay(inst.pk).get() == "D"
    inst.refresh_from_db()
    assert inst.risk_grade == "D"
    assert risk.recompute_risk.delay(987654).get() is None  # deleted meanwhile: nothing to do


def test_recompute_all_skips_closed_institutions():
    dirty = high_findings(make())
    closed = high_findings(make(status="closed"))
    ok = clean(make())
    assert risk.recompute_all_risk.delay().get() == 2
    grades = dict(Institution.objects.values_list("pk", "risk_grade"))
    assert (grades[dirty.pk], grades[closed.pk], grades[ok.pk]) == ("D", "A", "A")
