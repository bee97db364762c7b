"""Pay is need-to-know: a pay statement is for the person themselves, the school's admins and the bureau's fee
approvers; the school summary and the payroll export (everyone's pay) for the admins and the fee approvers only.
Inspectors (even of the school's own town), other schools, parents and other teachers get a 404, through the API and
through the pages alike."""

from __future__ import annotations

import pytest

from afterschool.fees import allocation as fee_allocation
from afterschool.fees import services as fees
from afterschool.fees.models import AllocationRun
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, take_attendance
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

SHARES = {"teacher": "60", "outside": "20", "operations": "15", "reserve": "5"}


@pytest.fixture
def town_bureau(school_x):
    return bureau_of_town(school_x.town)


@pytest.fixture
def locked(school_x, class_x, teacher_x, teacher_x2, parent, school_admin_x, town_bureau):
    """A term allocated and locked (so the payroll export exists): lines for 王老师, 赵老师 and 马画师."""
    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    fees.rate_set(actor=school_admin_x, term_id=s.term.pk, basis="per_lesson", amount="3.00")
    fees.bills_issue(actor=school_admin_x, term_id=s.term.pk)
    take_attendance(s)
    fees.subsidy_add(actor=town_bureau, term_id=s.term.pk, amount="1000.00", note="生均补助")  # covers the outside pay
    fee_allocation.plan_set(actor=school_admin_x, term_id=s.term.pk, shares=SHARES)
    run = fee_allocation.run_compute(actor=school_admin_x, term_id=s.term.pk)
    fee_allocation.run_review(actor=school_admin_x, run_id=run.pk)
    fee_allocation.run_approve(actor=town_bureau, run_id=run.pk)
    fee_allocation.run_lock(actor=town_bureau, run_id=run.pk)
    run = AllocationRun.objects.get(pk=run.pk)
    assert run.status == AllocationRun.Status.LOCKED
    return run


def _staff_ids(run: AllocationRun) -> dict[str, int]:
    return {ln.name: ln.staff_id for ln in run.lines.all()}


def _api_paths(run: AllocationRun, staff_id: int) -> list[str]:
    return [
        f"fees/allocations/{run.pk}/statements/{staff_id}.pdf",
        f"fees/allocations/{run.pk}/statements/{staff_id}.xlsx",
    ]


def _page_paths(run: AllocationRun, staff_id: int) -> list[str]:
    base = f"/afterschool/fees/runs/{run.pk}/"
    return [f"{base}statements/{staff_id}.pdf", f"{base}statements/{staff_id}.xlsx"]


def _sign_in(client, user):
    client.logout()
    assert client.login(username=user.username or user.phone, password=PASSWORD)
    return client


@pytest.mark.parametrize("who", ["school_admin_x", "town_bureau", "bureau_staff", "bureau_admin"])
def test_admins_and_fee_approvers_get_every_statement_and_the_payroll(api_as, client, locked, who, request):
    user = request.getfixturevalue(who)
    c = api_as(user)
    assert len(c.get(f"fees/allocations/{locked.pk}").json()["lines"]) == 3
    for staff_id in _staff_ids(locked).values():
        for path in _api_paths(locked, staff_id):
            assert c.get(path).status_code == 200, path
    assert c.get(f"fees/allocations/{locked.pk}/payroll.xlsx").status_code == 200
    assert c.get(f"fees/allocations/{locked.pk}/summary.xlsx").status_code == 200
    _sign_in(client, user)
    base = f"/afterschool/fees/runs/{locked.pk}/"
    for staff_id in _staff_ids(locked).values():
        for path in _page_paths(locked, staff_id):
            assert client.get(path).status_code == 200, path
    assert client.get(f"{base}payroll.xlsx").status_code == 200
    assert client.get(f"{base}summary.xlsx").status_code == 200


@pytest.mark.parametrize("who", ["inspector_a", "inspector_b", "school_admin_y", "parent"])
def test_inspectors_and_everyone_else_get_404(api_as, client, locked, who, request):
    user = request.getfixturevalue(who)
    c = api_as(user)
    for staff_id in _staff_ids(locked).values():
        for path in _api_paths(locked, staff_id):
            assert_error(c.get(path), 404)
    assert_error(c.get(f"fees/allocations/{locked.pk}/payroll.xlsx"), 404)
    assert_error(c.get(f"fees/allocations/{locked.pk}/summary.xlsx"), 404)
    _sign_in(client, user)
    base = f"/afterschool/fees/runs/{locked.pk}/"
    for staff_id in _staff_ids(locked).values():
        for path in _page_paths(locked, staff_id):
            assert client.get(path).status_code == 404, path
    assert client.get(f"{base}payroll.xlsx").status_code == 404
    assert client.get(f"{base}summary.xlsx").status_code == 404


def test_an_inspector_of_the_town_sees_the_runs_figures_but_no_ones_pay(api_as, client, locked, inspector_a):
    run = api_as(inspector_a).get(f"fees/allocations/{locked.pk}")
    assert run.status_code == 200
    assert run.json()["lines"] == []
    page = _sign_in(client, inspector_a).get(f"/afterschool/fees/runs/{locked.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "王老师" not in html and "赵老师" not in html and "马画师" not in html


def test_a_teacher_gets_their_own_statement_only(api_as, client, locked, teacher_x):
    ids = _staff_ids(locked)
    c = api_as(teacher_x)
    for path in _api_paths(locked, ids["王老师"]):
        assert c.get(path).status_code == 200, path
    for path in _api_paths(locked, ids["赵老师"]) + _api_paths(locked, ids["马画师"]):
        assert_error(c.get(path), 404)
    assert_error(c.get(f"fees/allocations/{locked.pk}/payroll.xlsx"), 404)
    _sign_in(client, teacher_x)
    for path in _page_paths(locked, ids["王老师"]):
        assert client.get(path).status_code == 200, path
    for path in _page_paths(locked, ids["赵老师"]):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/afterschool/fees/runs/{locked.pk}/payroll.xlsx").status_code == 404
