"""A short-lived cache of "this access token belongs to this user, session and memberships", so that an API request
costs one cache read instead of two database queries and their ORM work (bench/: GET /api/v1/me).

Correctness first: an entry is dropped whenever what it says may have changed (the session is revoked, the user or one
of their memberships is saved or deleted), and it lives at most AUTH_CACHE_SECONDS anyway. It is on only with a cache
shared by every process (Redis, production): a per-process cache could keep a revoked token alive in another worker.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

KEY = "auth:tok:{}"
USER_FIELDS = {"id", "username", "phone", "name", "is_active", "is_staff", "is_superuser"}


def _user_field_order() -> list[str]:
    # Model.from_db takes the loaded values in the model's own field order.
    from .models import User

    return [f.attname for f in User._meta.concrete_fields if f.attname in USER_FIELDS]


def enabled() -> bool:
    return getattr(settings, "AUTH_CACHE_SECONDS", 0) > 0


def get(token_hash: str):
    """(user, session, memberships, expires_epoch) or None. The user is a partial instance: other fields load on
    access, and save() writes only the loaded ones, so nothing can be overwritten by what the cache lacks."""
    if not enabled():
        return None
    entry = cache.get(KEY.format(token_hash))
    if entry is None:
        return None
    from .models import AuthSession, User

    user = User.from_db("default", _user_field_order(), entry["user"])
    session = AuthSession.from_db("default", ("id", "user_id"), (entry["session_id"], user.pk))
    session.user = user
    user._memberships_cache = entry["memberships"]
    return user, session, entry["expires"]


def put(token_hash: str, user, session, expires_at) -> None:
    if not enabled():
        return
    from .selectors import memberships_of

    expires = expires_at.timestamp()
    ttl = int(min(settings.AUTH_CACHE_SECONDS, expires - time.time()))
    if ttl <= 0:
        return
    entry = {
        "user": tuple(getattr(user, f) for f in _user_field_order()),
        "session_id": session.pk,
        "memberships": memberships_of(user),
        "expires": expires,
    }
    cache.set(KEY.format(token_hash), entry, ttl)


def forget_tokens(token_hashes) -> None:
    keys = [KEY.format(h) for h in token_hashes]
    if not keys or not enabled():
        return
    cache.delete_many(keys)
    # Again after commit: a request that read the old state just before the change may have stored it meanwhile.
    transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def forget_sessions(session_ids) -> None:
    if not enabled():
        return
    from .models import AccessToken

    forget_tokens(
        list(AccessToken.objects.filter(session_id__in=list(session_ids)).values_list("token_hash", flat=True))
    )


def forget_user(user_id: int) -> None:
    if not enabled():
        return
    from .models import AccessToken

    forget_tokens(list(AccessToken.objects.filter(session__user_id=user_id).values_list("token_hash", flat=True)))
