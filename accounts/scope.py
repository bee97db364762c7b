"""Who covers what: the one answer to "which towns, schools and institutions does this person act for, in which
roles", and to its reverse, "who acts for this place in these roles". Every selector and `access_*` function of
the domain apps builds its filter from here; nothing else reads memberships to decide scope.

The answers are ids, never domain rows: identity knows no domain. A domain selector turns them into its own
filter (`School.objects.filter(town_id__in=scope.town_ids(user, *BUREAU_ROLES))`).

A region membership covers the region and the towns under it (the district bureau covers every town). The region
tree changes once in years; it is kept in each process for a few minutes (`clear_caches()` in tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from .models import Membership, Region, Role
from .selectors import memberships_of

BUREAU_ROLES = (Role.BUREAU_STAFF, Role.BUREAU_ADMIN)
SCHOOL_ROLES = (Role.SCHOOL_ADMIN, Role.TEACHER)

REGION_TREE_SECONDS = 300
_tree: dict = {"at": 0.0, "children": None, "parents": None, "names": None}
_tree_lock = threading.Lock()


def _region_tree() -> tuple[dict[int, frozenset[int]], dict[int, int | None], dict[int, str]]:
    """({region id: its direct children}, {region id: its parent id}, {region id: its name}), refreshed every few
    minutes."""
    now = time.monotonic()
    if _tree["children"] is None or now - _tree["at"] > REGION_TREE_SECONDS:
        children: dict[int, set[int]] = {}
        parents: dict[int, int | None] = {}
        names: dict[int, str] = {}
        for pk, parent_id, name in Region.objects.values_list("pk", "parent_id", "name"):
            parents[pk] = parent_id
            names[pk] = name
            if parent_id:
                children.setdefault(parent_id, set()).add(pk)
        with _tree_lock:
            _tree.update(at=now, children={k: frozenset(v) for k, v in children.items()}, parents=parents, names=names)
    return _tree["children"], _tree["parents"], _tree["names"]


def clear_caches() -> None:
    with _tree_lock:
        _tree.update(at=0.0, children=None, parents=None, names=None)


def regions_under(region_ids: Iterable[int]) -> set[int]:
    """The regions and every region below them (a district and its towns)."""
    stack = list(region_ids)
    children, parents, _ = _region_tree()
    if any(region_id not in parents for region_id in stack):  # a region made since the tree was read
        clear_caches()
        children, _, _ = _region_tree()
    out: set[int] = set()
    while stack:
        region_id = stack.pop()
        if region_id in out:
            continue
        out.add(region_id)
        stack.extend(children.get(region_id, ()))
    return out


def regions_above(region_id: int) -> list[int]:
    """The region and the regions above it, nearest first (a town, then its district)."""
    _, parents, _ = _region_tree()
    if region_id not in parents:  # a region made since the tree was read
        clear_caches()
        _, parents, _ = _region_tree()
    chain: list[int] = []
    current: int | None = region_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def region_name(region_id: int) -> str:
    """The name of a region, from the same per-process tree ("" for an unknown id)."""
    name = _region_tree()[2].get(region_id)
    if name is None:  # a region made since the tree was read
        clear_caches()
        name = _region_tree()[2].get(region_id, "")
    return name


# --- What a person covers ------------------------------------------------------------------------------------------


def _signed_in(user) -> bool:
    return bool(getattr(user, "pk", None))


def roles(user) -> set[str]:
    return {m.role for m in memberships_of(user)} if _signed_in(user) else set()


def has_role(user, *wanted: str) -> bool:
    return bool(roles(user) & set(wanted))


def is_bureau(user) -> bool:
    """Bureau staff or admin (the handlers of complaints, the bureau of inspections), in whichever towns."""
    return has_role(user, *BUREAU_ROLES)


def town_ids(user, *in_roles: str) -> set[int]:
    """The regions the user covers in those roles (default: the bureau's), with every town under them."""
    if not _signed_in(user):
        return set()
    in_roles = in_roles or BUREAU_ROLES
    return regions_under(m.region_id for m in memberships_of(user) if m.role in in_roles and m.region_id)


def covers_town(user, town_id: int | None, *in_roles: str) -> bool:
    return town_id is not None and town_id in town_ids(user, *in_roles)


def school_ids(user, *in_roles: str) -> set[int]:
    """The schools the user acts for in those roles (default: school admin or teacher)."""
    if not _signed_in(user):
        return set()
    in_roles = in_roles or SCHOOL_ROLES
    return {m.school_id for m in memberships_of(user) if m.role in in_roles and m.school_id}


def institution_ids(user) -> set[int]:
    """The institutions the user works for (institution staff)."""
    if not _signed_in(user):
        return set()
    return {m.institution_id for m in memberships_of(user) if m.role == Role.INSTITUTION_STAFF and m.institution_id}


# --- Who covers a place --------------------------------------------------------------------------------------------


def users_covering_town(town_id: int, *in_roles: str) -> list[int]:
    """Active users whose region membership in those roles (default: the bureau's) covers the town: members of the
    town itself or of a region above it."""
    in_roles = in_roles or BUREAU_ROLES
    return list(
        Membership.objects.active()
        .filter(role__in=in_roles, region_id__in=regions_above(town_id))
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )


def users_of_school(school_id: int, *in_roles: str) -> list[int]:
    in_roles = in_roles or SCHOOL_ROLES
    return list(
        Membership.objects.active()
        .filter(role__in=in_roles, school_id=school_id)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )


def users_of_institution(institution_id: int) -> list[int]:
    return list(
        Membership.objects.active()
        .filter(role=Role.INSTITUTION_STAFF, institution_id=institution_id)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )
