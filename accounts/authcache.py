"""A short-lived cache of "this access token belongs to this user, session and memberships", so that an API request
does not pay two database queries and their ORM work to learn who is asking (bench/: GET /api/v1/me).

Two levels, on only with Redis (a cache every process shares):
- Redis, for AUTH_CACHE_SECONDS: one GET per request.
- A small dict in each process, for AUTH_LOCAL_SECONDS, used only while that process listens to the invalidation
  channel: a loopback Redis round trip costs about as much as a bare Django view here, so the hot path avoids it.

Correctness first: whatever may change what an entry says (the session is revoked, the user or one of their
memberships is saved or deleted) deletes it from Redis and publishes its key; every process drops it from its dict on
the message. A process that is not listening (connection lost, not started) does not use its dict at all, and an
entry read while an invalidation arrived is not kept.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "auth:tok:{}"
CHANNEL = "shuangjian:auth-invalidate"
USER_FIELDS = {"id", "username", "phone", "name", "is_active", "is_staff", "is_superuser"}
LOCAL_MAX_ENTRIES = 10_000


def enabled() -> bool:
    return getattr(settings, "AUTH_CACHE_SECONDS", 0) > 0


def _user_field_order() -> list[str]:
    # Model.from_db takes the loaded values in the model's own field order.
    from .models import User

    return [f.attname for f in User._meta.concrete_fields if f.attname in USER_FIELDS]


# --- The per-process level and its listener ------------------------------------------------------------------------


class _Local:
    def __init__(self):
        self.entries: dict[str, tuple[float, dict]] = {}  # token hash → (stored at, entry)
        self.generation = 0  # bumped by every invalidation message
        self.listening = False
        self.pid = None
        self.lock = threading.Lock()

    def usable(self) -> bool:
        return self.listening and self.pid == os.getpid() and getattr(settings, "AUTH_LOCAL_SECONDS", 0) > 0

    def drop(self, message: str) -> None:
        with self.lock:
            self.generation += 1
            if message.startswith("user:"):
                user_id = int(message[5:])
                for key in [k for k, (_, e) in self.entries.items() if e["user_id"] == user_id]:
                    self.entries.pop(key, None)
            elif message == "*":
                self.entries.clear()
            else:
                self.entries.pop(message, None)


_local = _Local()


def _listen(redis_url: str) -> None:
    import redis

    while _local.pid == os.getpid():
        try:
            client = redis.Redis.from_url(redis_url, socket_keepalive=True, health_check_interval=10)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            _local.drop("*")  # anything cached before we were listening may have missed a message
            _local.listening = True
            while _local.pid == os.getpid():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    _local.drop(message["data"].decode())
        except Exception:  # noqa: BLE001 - any trouble: stop trusting the dict, retry shortly
            logger.warning("auth cache invalidation listener lost its connection; retrying", exc_info=True)
        finally:
            _local.listening = False
            _local.drop("*")
        time.sleep(1.0)


def _ensure_listener() -> None:
    """One listener thread per process, started on first use (after a fork, the child starts its own)."""
    if _local.pid == os.getpid() or not getattr(settings, "AUTH_LOCAL_SECONDS", 0) or not settings.REDIS_URL:
        return
    with _local.lock:
        if _local.pid == os.getpid():
            return
        _local.pid = os.getpid()
        _local.entries.clear()
        _local.listening = False
        threading.Thread(target=_listen, args=(settings.REDIS_URL,), name="auth-invalidate", daemon=True).start()


_publisher_client = None


def _publish(messages: list[str]) -> None:
    global _publisher_client
    if not settings.REDIS_URL or not messages:
        return
    try:
        import redis

        if _publisher_client is None:
            _publisher_client = redis.Redis.from_url(settings.REDIS_URL)
        for message in messages:
            _publisher_client.publish(CHANNEL, message)
    except Exception:  # noqa: BLE001 - the Redis entries are gone already; each process's dict expires on its own
        logger.warning("could not publish auth cache invalidation", exc_info=True)


# --- Reading and writing ---------------------------------------------------------------------------------------------


def _materialize(entry: dict):
    from .models import AuthSession, User

    user = User.from_db("default", _user_field_order(), entry["user"])
    session = AuthSession.from_db("default", ("id", "user_id"), (entry["session_id"], user.pk))
    session.user = user
    user._memberships_cache = entry["memberships"]
    return user, session, entry["expires"]


def get(token_hash: str):
    """(user, session, expires_epoch) or None. The user is a partial instance: other fields load on access, and
    save() writes only the loaded ones, so nothing can be overwritten by what the cache lacks."""
    if not enabled():
        return None
    _ensure_listener()
    local_ttl = getattr(settings, "AUTH_LOCAL_SECONDS", 0)
    if _local.usable():
        hit = _local.entries.get(token_hash)
        if hit is not None and time.monotonic() - hit[0] < local_ttl:
            return _materialize(hit[1])
    generation = _local.generation
    entry = cache.get(KEY.format(token_hash))
    if entry is None:
        return None
    _remember_locally(token_hash, entry, generation)
    return _materialize(entry)


def _remember_locally(token_hash: str, entry: dict, generation: int) -> None:
    if not _local.usable():
        return
    with _local.lock:
        if _local.generation != generation:
            return  # an invalidation arrived while we were reading: what we read may be what it invalidated
        if len(_local.entries) >= LOCAL_MAX_ENTRIES:
            _local.entries.clear()
        _local.entries[token_hash] = (time.monotonic(), entry)


def put(token_hash: str, user, session, expires_at) -> None:
    if not enabled():
        return
    from .selectors import memberships_of

    expires = expires_at.timestamp()
    ttl = int(min(settings.AUTH_CACHE_SECONDS, expires - time.time()))
    if ttl <= 0:
        return
    entry = {
        "user_id": user.pk,
        "user": tuple(getattr(user, f) for f in _user_field_order()),
        "session_id": session.pk,
        "memberships": memberships_of(user),
        "expires": expires,
    }
    cache.set(KEY.format(token_hash), entry, ttl)


# --- Forgetting ------------------------------------------------------------------------------------------------------


def _forget(keys: list[str], messages: list[str]) -> None:
    def now():
        if keys:
            cache.delete_many(keys)
        for message in messages:
            _local.drop(message)
        _publish(messages)

    now()
    # Again after commit: a request that read the old state just before the change may have stored it meanwhile.
    transaction.on_commit(now, robust=True)


def forget_tokens(token_hashes) -> None:
    hashes = list(token_hashes)
    if hashes and enabled():
        _forget([KEY.format(h) for h in hashes], hashes)


def forget_sessions(session_ids) -> None:
    if not enabled():
        return
    from .models import AccessToken

    hashes = AccessToken.objects.filter(session_id__in=list(session_ids)).values_list("token_hash", flat=True)
    forget_tokens(list(hashes))


def forget_user(user_id: int) -> None:
    if not enabled():
        return
    from .models import AccessToken

    hashes = list(AccessToken.objects.filter(session__user_id=user_id).values_list("token_hash", flat=True))
    _forget([KEY.format(h) for h in hashes], [f"user:{user_id}", *hashes])
