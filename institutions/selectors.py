"""Reads of the registry, scoped to who is asking."""

from __future__ import annotations

import math

from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin

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


def matching_text(qs: QuerySet, text: str | None) -> QuerySet:
    """Name (substring), pinyin initials ("xdf" finds 新东方) or the exact credit code."""
    text = (text or "").strip()
    if not text:
        return qs
    return qs.filter(Q(name__icontains=text) | Q(name_initials__contains=text.lower()) | Q(credit_code=text.upper()))


def filter_registry(qs: QuerySet, *, town_id=None, category=None, status=None, q=None) -> QuerySet:
    """The list's filters, shared by the API list, the export and the registry page."""
    if town_id:
        qs = qs.filter(town_id=town_id)
    if category:
        qs = qs.filter(category=category)
    if status:
        qs = qs.filter(status=status)
    return matching_text(qs, q)


def near(qs: QuerySet, lat: float, lng: float, radius_km: float) -> QuerySet:
    """Within a radius, nearest first: a bounding box the indexes can use, then the great-circle distance in SQL."""
    dlat = radius_km / 111.0
    dlng = radius_km / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    qs = qs.filter(
        latitude__gte=lat - dlat, latitude__lte=lat + dlat, longitude__gte=lng - dlng, longitude__lte=lng + dlng
    )
    cosine = Cos(Radians(lat)) * Cos(Radians(F("latitude"))) * Cos(Radians(F("longitude")) - Radians(lng)) + Sin(
        Radians(lat)
    ) * Sin(Radians(F("latitude")))
    distance = 6371.0 * ACos(Least(Greatest(cosine, -1.0), 1.0), output_field=FloatField())
    return qs.annotate(distance_km=distance).filter(distance_km__lte=radius_km).order_by("distance_km", "id")
