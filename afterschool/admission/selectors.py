"""Reads of admission, scoped to the person asking: whose applications, which await whom, who reviews, and the
public list of admitted third parties."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts import scope
from accounts.models import Role
from afterschool.schedule.models import School
from institutions.models import Institution

from .models import Admission

S = Admission.Status


REVIEWER_BUREAU_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF)


def school_reviewer_ids(school: School) -> set[int]:
    return set(scope.users_of_school(school.pk, Role.SCHOOL_ADMIN))


def bureau_reviewer_ids(school: School) -> set[int]:
    return set(scope.users_covering_town(school.town_id, *REVIEWER_BUREAU_ROLES))


def _applied_by(user) -> Q:
    q = Q(applicant=user)
    inst = scope.institution_ids(user)
    if inst:
        q |= Q(institution_id__in=inst)
    return q


def applications_of(user):
    """The applicant's own applications (an institution's staff: those of their institution)."""
    return Admission.objects.filter(_applied_by(user))


def _review_q(user) -> Q | None:
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    towns = scope.town_ids(user, *REVIEWER_BUREAU_ROLES)
    q = Q(pk__in=[])
    if schools:
        q |= Q(status=S.SCHOOL_REVIEW, school_id__in=schools)
    if towns:
        q |= Q(status=S.BUREAU_REVIEW, school__town_id__in=towns)
    return q if schools or towns else None


def awaiting_review_by(user):
    """Applications at this reviewer's step: a school's admins those of their school in school review, the bureau
    those of schools in its towns in bureau review. None for someone who reviews nothing."""
    q = _review_q(user)
    return Admission.objects.filter(q) if q is not None else None


def admissions_visible_to(user):
    """Applicants see their own (an institution's staff those of their institution), school admins those for their
    school, bureau staff those for schools in their towns."""
    q = _applied_by(user)
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    if schools:
        q |= Q(school_id__in=schools)
    towns = scope.town_ids(user, *REVIEWER_BUREAU_ROLES, Role.INSPECTOR)
    if towns:
        q |= Q(school__town_id__in=towns)
    return Admission.objects.filter(q)


def admitted_third_parties():
    """Institutions with at least one admitted person today: the public list (individuals are never listed)."""
    on = timezone.localdate()
    admitted = Admission.objects.filter(
        status=S.ADMITTED, institution__isnull=False, valid_from__lte=on, valid_until__gte=on
    ).values("institution_id")
    return Institution.objects.filter(pk__in=admitted).order_by("name", "id")


# --- The work waiting (home cards) and the lists behind them --------------------------------------------------------

EXPIRY_WINDOW_DAYS = 30


def _expiring(today: date) -> Q:
    return Q(status=S.ADMITTED, valid_until__gte=today, valid_until__lte=today + timedelta(days=EXPIRY_WINDOW_DAYS))


def admission_filters(user, today: date) -> dict[str, Q]:
    """Named slices of `admissions_visible_to(user)`: `to_review` (at this reviewer's step), `expiring` (admitted to a
    school the user administers, ending within 30 days), and the applicant's own: `mine` (all), `mine_open` (not yet
    decided), `mine_admitted` (valid today)."""
    filters: dict[str, Q] = {}
    if not getattr(user, "pk", None):
        return filters
    review = _review_q(user)
    if review is not None:
        filters["to_review"] = review
    schools = scope.school_ids(user, Role.SCHOOL_ADMIN)
    if schools:
        filters["expiring"] = Q(school_id__in=schools) & _expiring(today)
    mine = _applied_by(user)
    filters.update(
        mine=mine,
        mine_open=mine & Q(status__in=[S.DRAFT, S.SCHOOL_REVIEW, S.RETURNED, S.BUREAU_REVIEW]),
        mine_admitted=mine & Q(status=S.ADMITTED, valid_from__lte=today, valid_until__gte=today),
    )
    return filters


def admission_slices(user, today: date):
    """What a home counts of admissions: the user's scope and its named slices (core.counting)."""
    return admissions_visible_to(user), admission_filters(user, today)


def admission_counts(user, today: date) -> dict[str, int]:
    """{slice: how many} of `admission_filters`: one query."""
    filters = admission_filters(user, today)
    if not filters:
        return {}
    return admissions_visible_to(user).aggregate(**{n: Count("pk", filter=q) for n, q in filters.items()})


def expiring_admissions(user, today: date):
    """Admissions to the schools the user administers that end within 30 days, soonest first (None: not an admin)."""
    q = admission_filters(user, today).get("expiring")
    if q is None:
        return None
    return admissions_visible_to(user).filter(q).select_related("person", "school", "institution").order_by(
        "valid_until", "id"
    )
