"""Handlers' complaint lists kept a few seconds in each process, and never served after a change.

Why: the handler's list is the busiest read of the bureau's console and phones (refreshed every few seconds while
working), and a page of 50 is two queries and 50 rows to write out (bench/). How fresh: every answer is stored under
the *generation* of the complaints, a value in the shared cache (Redis in production) that every change made
through the services replaces, after commit. A list asked after a change is computed afresh in every process; what
the services do not see (an institution renamed in the registry) shows within COMPLAINT_LIST_CACHE_SECONDS.
The key holds the user, their memberships (a role taken away changes it), the query and the day (overdue flags).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core import usercache
from core.cache import ProcessTTLCache

GENERATION_KEY = "supervision:complaints:generation"
usercache.share(GENERATION_KEY)  # read with the signed-in person's counts: one Redis round trip a page, not two
MAX_ENTRIES = 2_000


_lists = ProcessTTLCache(MAX_ENTRIES)


def ttl() -> float:
    return float(getattr(settings, "COMPLAINT_LIST_CACHE_SECONDS", 0))


def generation():
    return usercache.shared(GENERATION_KEY) or 0


def _bump() -> None:
    # A new random value rather than INCR: one round trip (Django's incr asks whether the key exists first), and
    # any new value differs from what keys were stored under.
    cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    usercache.shared_changed(GENERATION_KEY)
    _lists.clear()


def complaints_changed() -> None:
    """Called by every service that changes what a list shows: stale answers go now and again after commit. The
    generation is replaced even when this module keeps nothing: others read it (the console's registry list)."""
    _lists.clear()
    transaction.on_commit(_bump, robust=True)


def cached_list(key: tuple, compute) -> bytes:
    seconds = ttl()
    if seconds <= 0:
        return compute()
    full_key = (generation(), *key)
    value = _lists.get(full_key)
    if value is None:
        value = compute()
        _lists.put(full_key, value, seconds)
    return value


def clear() -> None:
    _lists.clear()
