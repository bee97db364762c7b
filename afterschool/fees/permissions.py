"""Who may see which allocation runs and pay lines, in one place for the API and the pages: the run or line, or the
same 404 for missing and not yours."""

from __future__ import annotations

from accounts.selectors import region_ids_for
from afterschool.schedule.selectors import BUREAU_ROLES, admin_school_ids
from core.errors import NotFound

from .models import AllocationLine, AllocationRun
from .selectors import runs_visible_to


def access_run(user, run_id) -> AllocationRun:
    run = runs_visible_to(user).select_related("school", "term").filter(pk=run_id).first()
    if run is None:
        raise NotFound("分配", "allocation")
    return run


def sees_every_line(user, run: AllocationRun) -> bool:
    """The school's admins and the bureau of its town: every line, the summary and the payroll export."""
    return run.school_id in admin_school_ids(user) or run.school.town_id in region_ids_for(user, *BUREAU_ROLES)


def lines_visible_to(user, run: AllocationRun):
    """Every line for those who see them all; a teacher or outside person only their own."""
    lines = run.lines.select_related("staff")
    if sees_every_line(user, run):
        return lines
    return lines.filter(staff__user=user) | lines.filter(staff__outside_person__user=user)


def access_statement(user, run_id, staff_id) -> tuple[AllocationRun, AllocationLine]:
    """A run and one person's line of it (their pay statement), or the same 404."""
    run = access_run(user, run_id)
    line = lines_visible_to(user, run).filter(staff_id=staff_id).first()
    if line is None:
        raise NotFound("结算单", "statement")
    return run, line


def access_pay_documents(user, run_id) -> AllocationRun:
    """A run whose school summary and payroll export the user may download, or the same 404."""
    run = access_run(user, run_id)
    if not sees_every_line(user, run):
        raise NotFound("分配", "allocation")
    return run
