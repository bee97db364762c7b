"""Reads of the registry, scoped to who is asking."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role
from accounts.selectors import has_role, institution_ids_for, region_ids_for
from core.scoping import get_in_scope

from .models import Institution, Status

BUREAU_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF, Role.INSPECTOR)
EDITOR_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF)

# What the public whitelist shows: licensed institutions, and those licensed but under rectification.
PUBLIC_STATUSES = (Status.LICENSED, Status.RECTIFYING)


def public_institutions() -> QuerySet:
    return Institution.objects.filter(status__in=PUBLIC_STATUSES)


def institutions_supervised_by(user) -> QuerySet:
    """Every status, in the towns where the user holds a bureau role (inspectors included)."""
    return Institution.objects.filter(town_id__in=region_ids_for(user, *BUREAU_ROLES))


def institutions_editable_by(user) -> QuerySet:
    return Institution.objects.filter(town_id__in=region_ids_for(user, *EDITOR_ROLES))


def institutions_of_staff(user) -> QuerySet:
    return Institution.objects.filter(pk__in=institution_ids_for(user))


def institutions_listable_by(user) -> QuerySet:
    """The list: bureau roles see every status in their towns plus the public whitelist elsewhere; everyone else,
    signed in or not, sees the whitelist (and institution staff their own institution too)."""
    if user is None or not getattr(user, "pk", None):
        return public_institutions()
    qs = public_institutions()
    if has_role(user, *BUREAU_ROLES):
        qs = qs | institutions_supervised_by(user)
    if has_role(user, Role.INSTITUTION_STAFF):
        qs = qs | institutions_of_staff(user)
    return qs.distinct() if (has_role(user, *BUREAU_ROLES) or has_role(user, Role.INSTITUTION_STAFF)) else qs


def access_institution_record(user, institution_id) -> Institution:
    """The full record (staff, escrow, proposals): bureau roles of its town and its own staff; others get 404."""
    qs = institutions_supervised_by(user) | institutions_of_staff(user)
    return get_in_scope(qs.distinct(), institution_id, "机构", "institution")


def access_institution_for_editing(user, institution_id) -> Institution:
    return get_in_scope(institutions_editable_by(user), institution_id, "机构", "institution")
