"""Idempotency-Key for writes from phones that retry: the same key twice gives the first result, nothing new.

The key is stored on the row the request creates, under a unique constraint (owner, key): the database decides
which of two requests arriving at once wins. The loser's transaction fails on the constraint (PostgreSQL makes it
wait for the winner's commit first; SQLite runs writers one at a time), is rolled back whole, and answers with the
winner's row. A fingerprint of the request is stored beside the key: the same key with a different request is a
client bug and refused (409) rather than silently answered with something else.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

T = TypeVar("T")
HEADER = "Idempotency-Key"
KEY_SHAPE = re.compile(r"[A-Za-z0-9_\-:.]{8,100}")


def clean_key(raw: str | None) -> str:
    """'' for no key; the key itself when well formed; otherwise a 400 that says what a key looks like."""
    if raw is None or raw == "":
        return ""
    if not KEY_SHAPE.fullmatch(raw):
        raise DomainError(
            "idempotency.bad_key",
            _("Idempotency-Key 须为 8–100 个字母、数字或 - _ : . 字符（建议使用 UUID）"),
            fields={"Idempotency-Key": _("格式不正确")},
        )
    return raw


def fingerprint(*parts) -> str:
    """A stable hash of what the request asked for (JSON-able parts: the payload, sizes of files)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_reused_error() -> DomainError:
    return DomainError(
        "idempotency.key_reused",
        _("该 Idempotency-Key 已用于另一个不同的请求"),
        status=409,
    )


def run_once(
    *,
    key: str,
    request_hash: str,
    find: Callable[[], T | None],
    create: Callable[[], T],
    stored_hash: Callable[[T], str],
    on_conflict: Callable[[], None] | None = None,
    look_first: bool = True,
) -> tuple[T, bool]:
    """(row, created). `find()` looks the key up among the owner's rows; `create()` makes the row with the key set
    (the unique constraint is the referee); `on_conflict()` undoes what `create()` did outside the database
    (stored files) when it lost the race. `look_first=False` saves the lookup when creating is cheap to undo: a
    retry then fails on the constraint, is rolled back, and answers with the first row all the same."""
    if key and look_first:
        existing = find()
        if existing is not None:
            if stored_hash(existing) != request_hash:
                raise key_reused_error()
            return existing, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        if not key:
            raise
        if on_conflict is not None:
            on_conflict()
        existing = find()
        if existing is None:  # another constraint failed: not ours to hide
            raise
        if stored_hash(existing) != request_hash:
            raise key_reused_error() from None
        return existing, False
