"""Failed sign-ins counted per account and per address in the cache (Redis in production), in a fixed window.

The account count follows the account, not its spelling: `13900000006`, `+86 139 0000 0006` and the username of the
same user share one count (`login_subject`). A name that matches no account is counted under a canonical form of
what was typed, so unknown and known names are throttled alike.

With Redis unreachable the counts are kept in this process's memory meanwhile: sign-in goes on working and a
guesser hitting one process is still slowed.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from .backends import find_login_user
from .phones import normalize_mainland_mobile

logger = logging.getLogger(__name__)

_fallback = LocMemCache("login-throttle-fallback", {"MAX_ENTRIES": 10_000})
_last_warning = {"at": 0.0}
_LOOK_UP = object()


def login_subject(identifier: str, user=_LOOK_UP) -> str:
    """Whose failures an attempt counts toward: `user:<id>` when the identifier names an account (pass the user when
    it is already known, None when it is known not to exist), else the 11-digit phone or the lower-cased name."""
    if user is _LOOK_UP:
        user = find_login_user(identifier)
    if user is not None:
        return f"user:{user.pk}"
    text = (identifier or "").strip()
    phone = normalize_mainland_mobile(text)
    return f"phone:{phone}" if phone else f"name:{text.lower()}"


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _cache_call(method: str, *args):
    try:
        return getattr(cache, method)(*args)
    except ValueError:  # incr of a missing key: the caller's business
        raise
    except Exception as exc:  # noqa: BLE001 - Redis down: count in this process instead of failing the sign-in
        now = time.monotonic()
        if now - _last_warning["at"] >= 10:
            _last_warning["at"] = now
            logger.warning("login throttle: cache unavailable (%s: %s); counting in memory", type(exc).__name__, exc)
        return getattr(_fallback, method)(*args)


def _count(key: str) -> int:
    return int(_cache_call("get", key) or 0)


def _bump(key: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    if _cache_call("add", key, 1, window):
        return
    try:
        _cache_call("incr", key)
    except ValueError:  # expired between add and incr
        _cache_call("add", key, 1, window)


def check_login_allowed(subject: str, ip: str | None) -> None:
    too_many = _count(_key("acct", subject)) >= settings.LOGIN_FAILURES_PER_ACCOUNT or (
        ip and _count(_key("ip", ip)) >= settings.LOGIN_FAILURES_PER_ADDRESS
    )
    if too_many:
        minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
        raise DomainError(
            "auth.too_many_attempts",
            format_lazy(_("登录失败次数过多，请 {minutes} 分钟后再试"), minutes=minutes),
            status=429,
            headers={"Retry-After": str(settings.LOGIN_FAILURE_WINDOW_SECONDS)},
        )


def record_login_failure(subject: str, ip: str | None) -> None:
    _bump(_key("acct", subject))
    if ip:
        _bump(_key("ip", ip))


def clear_login_failures(subject: str) -> None:
    _cache_call("delete", _key("acct", subject))
