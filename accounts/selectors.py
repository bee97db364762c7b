"""Who a user is and where they act: the memberships every scoped query starts from (the scope itself is
`accounts.scope`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from . import places
from .models import Membership, Region, Role


@dataclass(frozen=True, slots=True)
class MembershipInfo:
    """One active role and where it applies: plain values, cheap to load, cache and copy. A school or an institution
    is only an id here: its name belongs to the app that owns it (`with_places`)."""

    id: int
    role: str
    region_id: int | None
    region_code: str | None
    region_name: str | None
    school_id: int | None
    institution_id: int | None

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)  # in the active language


MEMBERSHIP_COLUMNS = ("id", "role", "region_id", "region__code", "region__name", "school_id", "institution_id")


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


@dataclass(frozen=True, slots=True)
class PlacedMembership:
    """A membership with the name of where it applies, for showing (a home page, the API's /me)."""

    info: MembershipInfo
    school_name: str | None
    institution_name: str | None

    @property
    def role_label(self) -> str:
        return self.info.role_label

    @property
    def place_name(self) -> str:
        return self.info.region_name or self.school_name or self.institution_name or ""


def with_places(memberships: list[MembershipInfo]) -> list[PlacedMembership]:
    """The memberships with their places' names: one query per kind of place among them (none for regions, which the
    memberships carry), however many memberships there are."""
    schools = places.names(places.SCHOOL, (m.school_id for m in memberships))
    institutions = places.names(places.INSTITUTION, (m.institution_id for m in memberships))
    return [
        PlacedMembership(
            m,
            schools.get(m.school_id) if m.school_id else None,
            institutions.get(m.institution_id) if m.institution_id else None,
        )
        for m in memberships
    ]


def regions_valid_on(day):
    return Region.objects.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
