"""What a person's frame and home show (their cards' counts, their unread notifications, the first page of their
inbox), kept for a few seconds so that a page does not pay those queries on every request (issue 16: a home and the
inbox at 0.3 of the bare view).

Fresh where a person would notice: their entries are forgotten, after commit, as soon as they write anything (any
unsafe request of theirs, web or API: UserCacheMiddleware) or are notified of something (core.notifications), so what
they just did or were just told shows at once. A change by someone else that notifies nobody shows within
USER_CACHE_SECONDS. With USER_CACHE_SECONDS = 0 nothing is kept (the tests' default: they count queries).

The cache is Django's default cache: Redis in production (shared by every process, so a write in one process
forgets the entry for all); in the embedded default, each process's memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

KINDS = ("counts", "unread", "inbox")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_MISSING = object()


def _key(user_id: int, kind: str) -> str:
    return f"user:{user_id}:{kind}"


def seconds() -> int:
    return int(getattr(settings, "USER_CACHE_SECONDS", 0))


# What this request has read of the cache, per person (set by UserCacheMiddleware for the request's length): the frame
# asks for the unread count and the home for its counts, and one round trip to Redis answers both.
_read: ContextVar[dict | None] = ContextVar("usercache_read", default=None)


# Keys many pages read besides the person's own (the generations that say whether kept markup is still good): apps
# register them at import, and the request's first read fetches them with the person's entries in one round trip.
SHARED = "shared"  # where a request's read keeps them (user ids are ints: no clash)
_shared_keys: set[str] = set()


def share(key: str) -> None:
    """Fetch `key` with every request's first read of this cache (see `shared`)."""
    _shared_keys.add(key)


def _entries(found: dict, user_id: int) -> dict:
    return {k: found[_key(user_id, k)] for k in KINDS if _key(user_id, k) in found}


def _fetch(read: dict, user_id: int | None) -> None:
    """One round trip: the person's entries (when kept at all) and, once per request, the shared keys."""
    keys = [_key(user_id, k) for k in KINDS] if user_id and seconds() else []
    want_shared = SHARED not in read
    found = cache.get_many(keys + sorted(_shared_keys) if want_shared else keys)
    if keys:
        read[user_id] = _entries(found, user_id)
    if want_shared:
        read[SHARED] = {k: found[k] for k in _shared_keys if k in found}


def _request_user_id(read: dict) -> int | None:
    request = read.get("request")
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def shared(key: str, default: Any = None) -> Any:
    """A registered key's value as this request read it (fetched with the signed-in person's entries when it is the
    request's first read); outside a request, read at once. A cache that does not answer raises, as `cache.get`."""
    read = _read.get()
    if read is None or key not in _shared_keys:
        return cache.get(key, default)
    if SHARED not in read:
        user_id = _request_user_id(read)
        _fetch(read, None if user_id in read else user_id)
    return read[SHARED].get(key, default)


def shared_changed(key: str) -> None:
    """The key was just written: this request reads it afresh next time (the others never held it)."""
    read = _read.get()
    if read is not None:
        read.pop(SHARED, None)  # all of them fetched again on the next read: one round trip as before


def recall(user_id: int, kind: str, default: Any = None) -> Any:
    if not seconds():
        return default
    read = _read.get()
    if read is not None and user_id in read:
        value = read[user_id].get(kind, _MISSING)
        return default if value is _MISSING else value
    try:
        if read is None:  # outside a request: nothing to share the round trip with
            entries = _entries(cache.get_many([_key(user_id, k) for k in KINDS]), user_id)
        else:
            _fetch(read, user_id)
            entries = read[user_id]
    except Exception:  # noqa: BLE001 - the cache down is a miss, never an error page
        return default
    value = entries.get(kind, _MISSING)
    return default if value is _MISSING else value


def remember(user_id: int, kind: str, value: Any) -> None:
    if seconds():
        read = _read.get()
        if read is not None:
            read.setdefault(user_id, {})[kind] = value
        try:
            cache.set(_key(user_id, kind), value, seconds())
        except Exception:  # noqa: BLE001
            pass


def forget(user_ids: Iterable[int]) -> None:
    """Drop what is kept for these people, once the current transaction commits (at once outside one)."""
    user_ids = {uid for uid in user_ids if uid}
    keys = [_key(uid, kind) for uid in user_ids for kind in KINDS]
    if not keys or not seconds():
        return

    read = _read.get()
    if read is not None:
        for uid in user_ids:
            read.pop(uid, None)

    def drop():
        try:
            cache.delete_many(keys)
        except Exception:  # noqa: BLE001 - a stale entry lives at most USER_CACHE_SECONDS
            pass

    transaction.on_commit(drop)


class UserCacheMiddleware:
    """Forgets a person's kept counts after any write request of theirs (a page's form, an htmx action, a phone's API
    call), so that the next page shows what they just did."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reading = _read.set({"request": request})
        try:
            response = self.get_response(request)
        finally:
            _read.reset(reading)
        if request.method not in SAFE_METHODS and seconds():
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            auth = getattr(request, "auth", None)  # the API's caller (django-ninja), signed in by token
            user_id = user_id or getattr(auth, "pk", None)
            if user_id:
                forget([user_id])
        return response
