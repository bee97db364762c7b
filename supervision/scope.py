"""Who covers which towns, for every selector and `access_*` of supervision (DESIGN.md, Inside an app).

Bureau staff and admins (the handlers of complaints, the bureau of inspections) act for the regions of their
memberships and the towns under them: a district membership covers each of its towns.
"""

from __future__ import annotations

import time

from accounts.models import Region, Role
from accounts.selectors import has_role, memberships_of

HANDLER_ROLES = (Role.BUREAU_STAFF, Role.BUREAU_ADMIN)

_regions: list = [0.0, None]
REGION_CACHE_SECONDS = 300


def _region_tree() -> tuple[dict[int, set[int]], dict[int, str]]:
    """({region id: its direct children}, {region id: name}), kept per process five minutes (divisions change
    once in years)."""
    now = time.monotonic()
    if _regions[1] is None or now - _regions[0] > REGION_CACHE_SECONDS:
        children: dict[int, set[int]] = {}
        names: dict[int, str] = {}
        for pk, parent_id, name in Region.objects.values_list("pk", "parent_id", "name"):
            names[pk] = name
            if parent_id:
                children.setdefault(parent_id, set()).add(pk)
        _regions[:] = [now, (children, names)]
    return _regions[1]


def region_name(region_id: int) -> str:
    name = _region_tree()[1].get(region_id)
    if name is None:  # a region made since the cache was filled
        clear_region_cache()
        name = _region_tree()[1].get(region_id, "")
    return name


def clear_region_cache() -> None:
    _regions[:] = [0.0, None]


def towns_of(user, *roles: str) -> set[int]:
    """accounts.selectors.region_ids_for without its query: the regions of the user's bureau roles and the towns
    under them (a district membership covers its towns)."""
    roles = roles or HANDLER_ROLES
    roots = {m.region_id for m in memberships_of(user) if m.role in roles and m.region_id}
    if not roots:
        return set()
    children = _region_tree()[0]
    return roots.union(*(children.get(root, ()) for root in roots))


def towns_under(region_id: int) -> set[int]:
    """A region and its direct children, read now (not from the per-process tree)."""
    return {region_id, *Region.objects.filter(parent_id=region_id).values_list("pk", flat=True)}


def is_handler(user) -> bool:
    """Bureau staff or admin: handles complaints, plans and oversees inspections of the towns they cover."""
    return bool(getattr(user, "pk", None)) and has_role(user, *HANDLER_ROLES)
