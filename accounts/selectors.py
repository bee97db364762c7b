"""Who a user is and where they act: the memberships every scoped query starts from (the scope itself is
`accounts.scope`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from .models import Membership, Region, Role


@dataclass(frozen=True, slots=True)
class MembershipInfo:
    """One active role and where it applies: plain values, cheap to load, cache and copy."""

    id: int
    role: str
    region_id: int | None
    region_code: str | None
    region_name: str | None
    school_id: int | None
    school_name: str | None
    institution_id: int | None
    institution_name: str | None

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)  # in the active language

    @property
    def place_name(self) -> str:
        return self.region_name or self.school_name or self.institution_name or ""


MEMBERSHIP_COLUMNS = (
    "id",
    "role",
    "region_id",
    "region__code",
    "region__name",
    "school_id",
    "school__name",
    "institution_id",
    "institution__name",
)


def memberships_of(user) -> list[MembershipInfo]:
    """Active memberships with their places, loaded once per request (or from the auth cache) and kept on the user."""
    cached = getattr(user, "_memberships_cache", None)
    if cached is None:
        rows = (
            Membership.objects.active().filter(user_id=user.pk).order_by("role", "id").values_list(*MEMBERSHIP_COLUMNS)
        )
        cached = [MembershipInfo(*row) for row in rows]
        user._memberships_cache = cached
    return cached


def regions_valid_on(day):
    return Region.objects.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
