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

Redis down is not an outage of sign-in: every read and write here that fails is logged and treated as a miss, so the
token is checked in the database (where tokens are stored hashed), as without the cache. A revocation made while
Redis is unreachable cannot delete an entry that Redis may still hold when it comes back: that entry lives at most
AUTH_CACHE_SECONDS (and is removed again after commit, if Redis is back by then).
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
# The shape of a cached entry (its memberships are pickled MembershipInfo): an entry of another shape, written by an
# older release, is a miss, never read into the wrong fields. 2: memberships name schools and institutions by id only.
FORMAT = 3
CHANNEL = "shuangjian:auth-invalidate"
USER_FIELDS = {"id", "username", "phone", "name", "language", "is_active", "is_staff", "is_superuser"}
LOCAL_MAX_ENTRIES = 10_000
REDIS_TIMEOUT_SECONDS = 2  # the publisher's connect and read timeouts: a lost Redis must not hang a request


_last_warning = {"at": 0.0}


def _warn_unavailable(what: str, exc: Exception) -> None:
    """Once every 10 s per process, without the traceback: with Redis down every request would log it otherwise."""
    now = time.monotonic()
    if now - _last_warning["at"] >= 10:
        _last_warning["at"] = now
        logger.warning("auth cache: %s failed (%s: %s); checking tokens in the database", what, type(exc).__name__, exc)


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


_publishers: dict[str, object] = {}  # Redis URL → client


def _publish(messages: list[str]) -> None:
    """Best effort: never raises. When it fails, the other processes' dicts are not trusted anyway unless their
    listener is connected, and then it would have received the message; their entries expire on their own."""
    url = settings.REDIS_URL
    if not url or not messages:
        return
    try:
        import redis

        client = _publishers.get(url)
        if client is None:
            client = _publishers[url] = redis.Redis.from_url(
                url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
            )
        for message in messages:
            client.publish(CHANNEL, message)
    except Exception as exc:  # noqa: BLE001 - a sign-out must not fail because Redis is away
        _warn_unavailable("publishing an invalidation", exc)


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
    try:
        entry = cache.get(KEY.format(token_hash))
    except Exception as exc:  # noqa: BLE001 - Redis down: a miss, the database answers
        _warn_unavailable("reading", exc)
        return None
    if entry is None or entry.get("format") != FORMAT:
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
        "format": FORMAT,
        "user_id": user.pk,
        "user": tuple(getattr(user, f) for f in _user_field_order()),
        "session_id": session.pk,
        "memberships": memberships_of(user),
        "expires": expires,
    }
    try:
        cache.set(KEY.format(token_hash), entry, ttl)
    except Exception as exc:  # noqa: BLE001 - Redis down: nothing cached, nothing lost
        _warn_unavailable("writing", exc)


# --- Forgetting ------------------------------------------------------------------------------------------------------


def _forget(keys: list[str], messages: list[str]) -> None:
    def now():
        if keys:
            try:
                cache.delete_many(keys)
            except Exception as exc:  # noqa: BLE001 - the revocation itself is in the database; see the module doc
                _warn_unavailable("deleting", exc)
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
    _forget([WEB_KEY.format(user_id), *(KEY.format(h) for h in hashes)], [f"user:{user_id}", *hashes])


# --- Web sessions ----------------------------------------------------------------------------------------------------
# The same for a signed-in browser: the session names a user id and the hash of their password (Django's session
# verification); the entry keeps the user's fields, that hash and their memberships, so a page pays no query to learn
# who is asking (issue 16: every page's floor). Forgotten with the user's tokens (forget_user: the user or a
# membership saved, a password reset), so a changed password or a lost role is seen at the next request.

WEB_KEY = "auth:web:{}"


def _web_local_key(user_id) -> str:
    return f"web:{user_id}"


def get_web(user_id, session_hash: str):
    """The user of a web session whose hash matches the cached one, or None (then Django's check runs)."""
    if not enabled() or not session_hash:
        return None
    from django.utils.crypto import constant_time_compare

    _ensure_listener()
    entry = None
    if _local.usable():
        hit = _local.entries.get(_web_local_key(user_id))
        if hit is not None and time.monotonic() - hit[0] < settings.AUTH_LOCAL_SECONDS:
            entry = hit[1]
    if entry is None:
        generation = _local.generation
        try:
            entry = cache.get(WEB_KEY.format(user_id))
        except Exception as exc:  # noqa: BLE001 - Redis down: a miss, the database answers
            _warn_unavailable("reading", exc)
            return None
        if entry is None or entry.get("format") != FORMAT or str(entry["user_id"]) != str(user_id):
            return None
        _remember_locally(_web_local_key(user_id), entry, generation)
    if not constant_time_compare(session_hash, entry["session_hash"]):
        return None
    from .models import User

    user = User.from_db("default", _user_field_order(), entry["user"])
    user._memberships_cache = entry["memberships"]
    return user


def put_web(user) -> None:
    """Keep an active user Django has just verified from the database."""
    if not enabled() or not user.is_active:
        return
    from .selectors import memberships_of

    entry = {
        "format": FORMAT,
        "user_id": user.pk,
        "user": tuple(getattr(user, f) for f in _user_field_order()),
        "session_hash": user.get_session_auth_hash(),
        "memberships": memberships_of(user),
    }
    try:
        cache.set(WEB_KEY.format(user.pk), entry, settings.AUTH_CACHE_SECONDS)
    except Exception as exc:  # noqa: BLE001 - Redis down: nothing cached, nothing lost
        _warn_unavailable("writing", exc)


# --- The language each person chose --------------------------------------------------------------------------------
# A notification is written in its recipient's language (core.notifications): kept in each process's dict while its
# listener is connected, so a filing does not pay a query for its handler's; forgotten with the user (any save).


def languages(user_ids) -> dict[int, str]:
    """{user id: the language they chose ('' when none)}: from this process's dict where kept, one query for the
    rest."""
    from .models import User

    ids = set(user_ids)
    found: dict[int, str] = {}
    usable = enabled() and _local.usable()
    if usable:
        now = time.monotonic()
        for uid in ids:
            hit = _local.entries.get(f"lang:{uid}")
            if hit is not None and now - hit[0] < settings.AUTH_LOCAL_SECONDS:
                found[uid] = hit[1]["language"]
    missing = ids - found.keys()
    if missing:
        generation = _local.generation
        rows = dict(User.objects.filter(pk__in=missing).values_list("pk", "language"))
        found.update(rows)
        if usable:
            for uid, language in rows.items():
                _remember_locally(f"lang:{uid}", {"user_id": uid, "language": language}, generation)
    if enabled():
        _ensure_listener()
    return found
