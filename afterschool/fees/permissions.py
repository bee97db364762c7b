"""Who may see what of fees, in one place for the API and the pages: `access_*` return the term, run or statement
asked for, or the same 404 for missing and not yours; the bureau's fee approvers are named here."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from afterschool.schedule.models import Term
from core.errors import NotFound

from .models import AllocationLine, AllocationRun
from .selectors import runs_visible_to, terms_readable

# The bureau's fee approvers: they approve exemptions, subsidies and allocation runs of the towns they cover.
APPROVER_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF)


def access_run(user, run_id) -> AllocationRun:
    run = runs_visible_to(user).select_related("school", "term").filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("分配不存在"))
    return run


def sees_every_line(user, run: AllocationRun) -> bool:
    """Pay is need-to-know: every line (each person's pay statement, the school summary, the payroll export) only for
    the school's admins and the bureau's fee approvers of its town. Inspectors read the run's figures, not anyone's
    pay; a teacher or outside person sees their own line (lines_visible_to)."""
    return run.school_id in scope.school_ids(user, Role.SCHOOL_ADMIN) or run.school.town_id in scope.town_ids(
        user, *APPROVER_ROLES
    )


def lines_visible_to(user, run: AllocationRun):
    """Every line for those who see them all; a teacher or outside person only their own."""
    lines = run.lines.select_related("staff")
    if sees_every_line(user, run):
        return lines
    return lines.filter(staff__user=user) | lines.filter(staff__outside_person__user=user)


def access_statement(user, run_id, staff_id) -> tuple[AllocationRun, AllocationLine]:
    """A run and one person's line of it (their pay statement), or the same 404. A person's own line is theirs even
    where they read nothing else of the school (an outside coach holds no membership)."""
    if getattr(user, "pk", None):
        own = (
            AllocationLine.objects.select_related("staff", "run__school", "run__term")
            .filter(run_id=run_id, staff_id=staff_id)
            .filter(Q(staff__user=user) | Q(staff__outside_person__user=user))
            .first()
        )
        if own is not None:
            return own.run, own
    run = access_run(user, run_id)
    line = lines_visible_to(user, run).filter(staff_id=staff_id).first()
    if line is None:
        raise NotFound(_("结算单不存在"))
    return run, line


def access_pay_documents(user, run_id) -> AllocationRun:
    """A run whose school summary and payroll export the user may download, or the same 404."""
    run = access_run(user, run_id)
    if not sees_every_line(user, run):
        raise NotFound(_("分配不存在"))
    return run


def access_term(user, term_id) -> Term:
    term = terms_readable(user).select_related("school").filter(pk=term_id).first()
    if term is None:
        raise NotFound(_("学期不存在"))
    return term


def access_term_for_admin(user, term_id) -> Term:
    term = (
        Term.objects.select_related("school")
        .filter(pk=term_id, school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))
        .first()
    )
    if term is None:
        raise NotFound(_("学期不存在"))
    return term


def access_term_for_bureau(user, term_id) -> Term:
    term = (
        Term.objects.select_related("school")
        .filter(pk=term_id, school__town_id__in=scope.town_ids(user, *APPROVER_ROLES))
        .first()
    )
    if term is None:
        raise NotFound(_("学期不存在"))
    return term
