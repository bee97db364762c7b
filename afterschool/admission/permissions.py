"""Who may act on an admission: its reviewers, and `access_admission` (the row, or the same 404 for missing and
not yours)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.errors import NotFound

from .models import Admission
from .selectors import REVIEWER_BUREAU_ROLES, admissions_visible_to


def is_school_reviewer(user, admission: Admission) -> bool:
    return admission.school_id in scope.school_ids(user, Role.SCHOOL_ADMIN)


def is_bureau_reviewer(user, admission: Admission) -> bool:
    return admission.school.town_id in scope.town_ids(user, *REVIEWER_BUREAU_ROLES)


def reviews_somewhere(user) -> bool:
    """A school's admin or the bureau's reviewer of some town: has a review queue at all."""
    return bool(scope.school_ids(user, Role.SCHOOL_ADMIN) or scope.town_ids(user, *REVIEWER_BUREAU_ROLES))


def is_reviewer(user, admission: Admission) -> bool:
    return is_school_reviewer(user, admission) or is_bureau_reviewer(user, admission)


def access_admission(user, admission_id) -> Admission:
    try:
        pk = int(admission_id)
    except (TypeError, ValueError):
        raise NotFound(_("准入申请不存在")) from None
    row = admissions_visible_to(user).select_related("person", "school__town", "institution").filter(pk=pk).first()
    if row is None:
        raise NotFound(_("准入申请不存在"))
    return row

