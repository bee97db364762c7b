"""The places a membership names by id (a school, an institution), answered by the apps that own them.

Identity knows no domain: a membership holds `school_id` or `institution_id`, plain integers, and accounts imports
no domain app. Each owning app registers, when it starts (its AppConfig.ready), a function giving the names of a set
of its places in one query; accounts asks through `names()` (to show where a role applies, to check that a granted
place exists). The owning app also refuses to delete a place a membership names, with `protect_memberships()`: the
same ProtectedError the foreign key's PROTECT used to raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import models
from django.db.models import ProtectedError

from .models import Membership

SCHOOL = "school"
INSTITUTION = "institution"
KINDS = (SCHOOL, INSTITUTION)

# kind -> f(ids) -> {id: name}, one query for the whole set; ids that do not exist are absent from the answer.
NameLookup = Callable[[set[int]], dict[int, str]]
_lookups: dict[str, NameLookup] = {}
# kind -> f(town ids) -> {id: name} of the places of that kind in those towns, one query.
_in_towns: dict[str, NameLookup] = {}


def register(kind: str, lookup: NameLookup, *, in_towns: NameLookup | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of place: {kind!r}")
    _lookups[kind] = lookup
    if in_towns is not None:
        _in_towns[kind] = in_towns


def in_towns(kind: str, town_ids: Iterable[int]) -> dict[int, str]:
    """{id: name} of the places of that kind in these towns; no query for no town."""
    towns = {int(t) for t in town_ids}
    if not towns:
        return {}
    try:
        lookup = _in_towns[kind]
    except KeyError:
        raise LookupError(f"no app registered the places of kind {kind!r} per town") from None
    return lookup(towns)


def names(kind: str, ids: Iterable[int | None]) -> dict[int, str]:
    """{id: name} of the places of that kind among `ids` that exist; no query for an empty set."""
    wanted = {int(i) for i in ids if i is not None}
    if not wanted:
        return {}
    try:
        lookup = _lookups[kind]
    except KeyError:
        raise LookupError(f"no app registered the names of places of kind {kind!r}") from None
    return lookup(wanted)


def exists(kind: str, place_id: int) -> bool:
    return place_id in names(kind, {place_id})


def refuse_deleting(kind: str, place_ids: Iterable[int]) -> None:
    """ProtectedError, before anything is written, if a membership (active or not) names one of these places."""
    held = list(memberships_naming(kind, place_ids))
    if held:
        raise ProtectedError(
            f"Cannot delete a {kind} that {len(held)} membership(s) name: {sorted({m.pk for m in held})}",
            set(held),
        )


class ProtectedPlaceQuerySet(models.QuerySet):
    """The queryset of a place model (which sets `membership_place_kind`): a bulk delete is refused as a single one."""

    def delete(self):
        refuse_deleting(self.model.membership_place_kind, self.values_list("pk", flat=True))
        return super().delete()


class ProtectedPlace(models.Model):
    """Base of a place model memberships name by id (school, institution): deleting one a membership names raises the
    ProtectedError the foreign key's PROTECT raised, before the delete's transaction opens. A pre_delete receiver
    (`protect_memberships`) stands behind it for deletes that bypass both (a cascade from elsewhere)."""

    membership_place_kind: str

    objects = ProtectedPlaceQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        refuse_deleting(self.membership_place_kind, [self.pk])
        return super().delete(*args, **kwargs)


def protect_memberships(kind: str):
    """A pre_delete receiver refusing to delete a place any membership (active or not) names."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of place: {kind!r}")

    def refuse(sender, instance, **kwargs):
        refuse_deleting(kind, [instance.pk])

    return refuse


def memberships_naming(kind: str, place_ids: Iterable[int]):
    """The memberships (active or not) that name any of these places: what protects them from deletion."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of place: {kind!r}")
    return Membership.objects.filter(**{f"{kind}_id__in": list(place_ids)}).select_related("user")
