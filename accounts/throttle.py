"""Failed sign-ins counted per account and per address in the cache (Redis in production), in a fixed window."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def _bump(key: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    if cache.add(key, 1, window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)


def check_login_allowed(identifier: str, ip: str | None) -> None:
    too_many = _count(_key("acct", identifier)) >= settings.LOGIN_FAILURES_PER_ACCOUNT or (
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


def record_login_failure(identifier: str, ip: str | None) -> None:
    _bump(_key("acct", identifier))
    if ip:
        _bump(_key("ip", ip))


def clear_login_failures(identifier: str) -> None:
    cache.delete(_key("acct", identifier))
