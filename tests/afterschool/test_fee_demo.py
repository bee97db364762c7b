"""The demo has a finished term allocated and locked: the demo teacher downloads their statement, the school its
payroll export; seeding again adds nothing."""

import pytest
from django.core.management import call_command

from accounts.models import User
from afterschool.fees.models import AllocationRun, Bill
from afterschool.schedule.models import Attendance
from tests.afterschool.test_demo import api_as

pytestmark = pytest.mark.django_db


def test_demo_term_is_allocated_and_locked_with_statements():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    run = AllocationRun.objects.get(term__name="2026 春季学期")
    assert (run.status, run.kind, run.shortfall) == ("locked", "regular", 0)
    lines = list(run.lines.all())
    assert {ln.pay_type for ln in lines} == {"performance", "labour"}
    assert sum(ln.amount for ln in lines) + run.operations + run.reserve + run.outside_surplus == run.pool
    assert run.refunds > 0 and run.subsidy > 0

    teacher = User.objects.get(username="teacher")
    mine = api_as(teacher).get(f"fees/allocations/{run.pk}").json()["lines"]
    assert len(mine) == 1
    pdf = api_as(teacher).get(f"fees/allocations/{run.pk}/statements/{mine[0]['staff_id']}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    payroll = api_as(User.objects.get(username="school")).get(f"fees/allocations/{run.pk}/payroll.xlsx")
    assert payroll.status_code == 200
    parent = User.objects.get(phone="13900000008")
    # Her two children's spring bills, and their autumn bills (the family pages' demo issues the autumn term's).
    assert api_as(parent).get("fees/bills").json()["count"] == 4

    counts = (AllocationRun.objects.count(), Bill.objects.count(), Attendance.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (AllocationRun.objects.count(), Bill.objects.count(), Attendance.objects.count()) == counts
