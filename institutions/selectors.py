"""Reads of the registry, scoped to who is asking."""

from __future__ import annotations

import math
from datetime import date, timedelta

from django.db import connections
from django.db.models import BooleanField, Case, CharField, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.scoping import get_in_scope

from .models import EXPIRES_WITH_LICENCE, ChangeProposal, Institution, Status

CREDIT_CODE_LENGTH = 18
BUREAU_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF, Role.INSPECTOR)
EDITOR_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF)

# What the public whitelist shows: licensed institutions, and those licensed but under rectification.
PUBLIC_STATUSES = (Status.LICENSED, Status.RECTIFYING)


def institution_names(ids) -> dict[int, str]:
    """{id: name} of these institutions, in one query (accounts asks it, through accounts.places, for memberships)."""
    return dict(Institution.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def _today(today: date | None) -> date:
    from django.utils import timezone

    return today or timezone.localdate()


def lapsed_q(today: date | None = None) -> Q:
    """Stored as licensed (or rectifying) but the licence expired before today: shown as expired everywhere."""
    return Q(status__in=EXPIRES_WITH_LICENCE, licence_expires_on__lt=_today(today))


def effective_status_expr(today: date | None = None):
    """models.effective_status in SQL: annotate(shown_status=…) for sorting and exports."""
    return Case(
        When(lapsed_q(today), then=Value(Status.EXPIRED)), default=F("status"), output_field=CharField()
    )


def with_effective_status(qs: QuerySet, status: str | None, today: date | None = None) -> QuerySet:
    """Rows whose *effective* status is `status` (models.effective_status): "licensed" leaves out licences that
    expired yesterday, "expired" takes them in, before the nightly task has written the change."""
    if not status:
        return qs
    lapsed = lapsed_q(today)
    if status == Status.EXPIRED:
        return qs.filter(Q(status=Status.EXPIRED) | lapsed)
    if status in EXPIRES_WITH_LICENCE:
        return qs.filter(status=status).exclude(lapsed)
    return qs.filter(status=status)


def public_institutions(today: date | None = None) -> QuerySet:
    """The whitelist: licensed or rectifying, and the licence not expired (whatever the stored status says yet)."""
    return Institution.objects.filter(status__in=PUBLIC_STATUSES).exclude(lapsed_q(today))


def institutions_supervised_by(user) -> QuerySet:
    """Every status, in the towns where the user holds a bureau role (inspectors included)."""
    return Institution.objects.filter(town_id__in=scope.town_ids(user, *BUREAU_ROLES))


def institutions_editable_by(user) -> QuerySet:
    return Institution.objects.filter(town_id__in=scope.town_ids(user, *EDITOR_ROLES))


def institutions_of_staff(user) -> QuerySet:
    return Institution.objects.filter(pk__in=scope.institution_ids(user))


def institutions_listable_by(user) -> QuerySet:
    """The list: bureau roles see every status in their towns plus the public whitelist elsewhere; everyone else,
    signed in or not, sees the whitelist (and institution staff their own institution too)."""
    if user is None or not getattr(user, "pk", None):
        return public_institutions()
    qs = public_institutions()
    if scope.has_role(user, *BUREAU_ROLES):
        qs = qs | institutions_supervised_by(user)
    if scope.has_role(user, Role.INSTITUTION_STAFF):
        qs = qs | institutions_of_staff(user)
    return (
        qs.distinct() if (scope.has_role(user, *BUREAU_ROLES) or scope.has_role(user, Role.INSTITUTION_STAFF)) else qs
    )


def access_institution_record(user, institution_id) -> Institution:
    """The full record (staff, escrow, proposals): bureau roles of its town and its own staff; others get 404."""
    qs = institutions_supervised_by(user) | institutions_of_staff(user)
    return get_in_scope(qs.distinct(), institution_id, _("机构不存在"))


def access_institution_for_editing(user, institution_id) -> Institution:
    return get_in_scope(institutions_editable_by(user), institution_id, _("机构不存在"))


def matching_text(qs: QuerySet, text: str | None) -> QuerySet:
    """Name (substring, any case), pinyin initials ("xdf" finds 新东方) or the exact credit code."""
    text = (text or "").strip()
    if not text:
        return qs
    code = Q(credit_code=text.upper())
    if connections[qs.db].vendor == "postgresql" and 2 <= len(text) != CREDIT_CODE_LENGTH:
        # The bigram GIN index (migration 0004) narrows the rows; strpos then checks the substring itself. No OR
        # with the credit code (it cannot match a text of another length): an OR would make PostgreSQL evaluate the
        # bigram function again on every row the index found.
        table = qs.model._meta.db_table
        name, initials = f'"{table}"."name"', f'"{table}"."name_initials"'
        substring = RawSQL(
            f"(institutions_bigrams(lower({name}) || ' ' || {initials}) @> institutions_bigrams(lower(%s))"
            f" AND (strpos(lower({name}), lower(%s)) > 0 OR strpos({initials}, lower(%s)) > 0))",
            [text, text, text],
            output_field=BooleanField(),
        )
        return qs.filter(substring)
    return qs.filter(Q(name__icontains=text) | Q(name_initials__contains=text.lower()) | code)


def filter_registry(qs: QuerySet, *, town_id=None, category=None, status=None, q=None) -> QuerySet:
    """The list's filters, shared by the API list, the export and the registry page."""
    if town_id:
        qs = qs.filter(town_id=town_id)
    if category:
        qs = qs.filter(category=category)
    qs = with_effective_status(qs, status)
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


# --- The work waiting (home cards) and the lists behind them --------------------------------------------------------

EXPIRY_WINDOW_DAYS = 30  # the licence reminder's window (licences.REMINDER_DAYS)
WATCHED_STATUSES = (Status.LICENSED, Status.RECTIFYING, Status.SUSPENDED)  # as licences.WATCHED


def expiring_filter(today: date) -> Q:
    return Q(
        status__in=WATCHED_STATUSES,
        licence_expires_on__gte=today,
        licence_expires_on__lte=today + timedelta(days=EXPIRY_WINDOW_DAYS),
    )


def registry_slices(user, today: date) -> tuple[QuerySet, dict[str, Q]]:
    """The bureau's summary of the institutions it supervises (its towns; the district: all): how many, licensed,
    unlicensed, and licences expiring within 30 days."""
    return institutions_supervised_by(user), {
        "total": Q(),
        "licensed": Q(status__in=PUBLIC_STATUSES) & ~lapsed_q(today),
        "unlicensed": Q(status=Status.UNLICENSED),
        "expiring": expiring_filter(today),
    }


def registry_counts(user, today: date) -> dict[str, int]:
    """{slice: how many} of `registry_slices`: one query."""
    qs, filters = registry_slices(user, today)
    return qs.aggregate(**{n: Count("pk", filter=q) for n, q in filters.items()})


def expiring_licences(user, today: date) -> QuerySet:
    """Institutions of the user's towns whose licence expires within 30 days, soonest first."""
    return (
        institutions_supervised_by(user).filter(expiring_filter(today)).select_related("town")
        .order_by("licence_expires_on", "id")
    )  # fmt: skip


def proposals_waiting(user) -> QuerySet:
    """Change proposals waiting for review: those of the user's own institutions (institution staff) and, for bureau
    staff, those they review (institutions of their towns)."""
    institutions = institutions_of_staff(user) | institutions_editable_by(user)
    return ChangeProposal.objects.filter(
        state=ChangeProposal.State.PENDING, institution__in=institutions.values("pk")
    )


def proposal_slices(user) -> tuple[QuerySet, dict[str, Q]]:
    return proposals_waiting(user), {"pending": Q()}


def proposal_counts(user) -> dict[str, int]:
    """{"pending": how many change proposals wait} (one query)."""
    return {"pending": proposals_waiting(user).count()}
