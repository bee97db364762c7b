"""The demo has a plan drawn, visits done, one rectification order open (its follow-up visit assigned) and one
closed, a visit under way with a sync conflict to review; a second run adds nothing."""

import pytest
from django.core.management import call_command

from supervision.models import Inspection, InspectionPlan, PlanDraw, RectificationOrder, VisitRecord

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_drawn_plan_visits_done_and_orders_open_and_closed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    plan = InspectionPlan.objects.get(name__contains="演示")
    assert plan.status == "drawn" and PlanDraw.objects.get(plan=plan).seed == "涪陵-2026Q4-演示"
    assert Inspection.objects.filter(plan=plan, status="complete").count() >= 1
    assert set(RectificationOrder.objects.values_list("status", flat=True)) == {"open", "closed"}
    open_order = RectificationOrder.objects.get(status="open")
    assert open_order.followup.origin == "followup" and open_order.followup.status == "assigned"
    assert VisitRecord.objects.filter(state="conflict", resolved=False).count() == 1
    assert Inspection.objects.filter(plan=plan, status="in_progress").count() == 1
    counts = (Inspection.objects.count(), RectificationOrder.objects.count(), VisitRecord.objects.count())
    call_command("seed_demo")
    assert (Inspection.objects.count(), RectificationOrder.objects.count(), VisitRecord.objects.count()) == counts
