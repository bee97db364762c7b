"""Notifications: durable first (an inbox row), push second (the websocket group of the recipient, after commit).

One language at a time: senders pass the title and body as gettext_lazy messages (Chinese msgids, `format_lazy` for
values), and each recipient's row is written in that recipient's language (User.language; Chinese when unset). The
row then holds exactly what was pushed and what every reader of the inbox (API, pages, websocket) shows, with no
catalogue needed to read it back; a person who later switches language keeps the old rows as they were sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import queue
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import usercache
from .errors import NotFound, render
from .models import Notification

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_id: int) -> str:
    return f"session.{session_id}"


def web_session_group(session_key: str) -> str:
    """The sockets a browser opened with its session cookie (keyed by a digest: the key itself is a credential)."""
    return "websession." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def notification_event(n: Notification) -> dict[str, Any]:
    """What travels over the websocket: never more than the recipient may see (it is their own inbox row)."""
    return {
        "type": n.kind,
        "id": n.pk,
        "at": timezone.localtime(n.created_at).isoformat(),
        "payload": {
            "title": n.title,
            "body": n.body,
            "object": {"type": n.object_type, "id": n.object_id} if n.object_type else None,
            **n.payload,
        },
    }


def notify(
    *,
    recipients: Iterable,
    kind: str,
    title: str,
    body: str = "",
    obj: Any = None,
    payload: dict | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """Write one inbox row per recipient now (one INSERT); push each to its websocket group once the transaction
    commits, without holding the request (see push_events).

    With a `dedupe_key`, a recipient who already has a row with that key gets nothing new (idempotent senders).
    """
    recipient_ids = {getattr(r, "pk", r) for r in recipients} - {None}
    if dedupe_key and recipient_ids:
        recipient_ids -= set(
            Notification.objects.filter(recipient_id__in=recipient_ids, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
    rows = notification_rows(
        recipients=recipient_ids, kind=kind, title=title, body=body, obj=obj, payload=payload, dedupe_key=dedupe_key
    )
    if not rows:
        return []
    rows = _create_deduplicated(rows) if dedupe_key else Notification.objects.bulk_create(rows)
    usercache.forget(row.recipient_id for row in rows)  # their unread count and home cards show it at once
    push_after_commit(rows)
    return rows


def notification_rows(
    *,
    recipients: Iterable,
    kind: str,
    title: str,
    body: str = "",
    obj: Any = None,
    payload: dict | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """The inbox rows notify stores, unsaved, one per recipient (ids or users) in id order: for a service that
    writes them with other rows in one transaction (bulk_create), then calls push_after_commit.

    `title` and `body` are rendered in each recipient's language (see the module's docstring)."""
    recipient_ids = {getattr(r, "pk", r) for r in recipients} - {None}
    languages = recipient_languages(recipient_ids) if _translatable(title, body) else {}
    texts: dict[str, tuple[str, str]] = {}

    def in_language(rid) -> tuple[str, str]:
        lang = languages.get(rid) or settings.LANGUAGE_CODE
        if lang not in texts:
            texts[lang] = (render(title, lang)[:200], render(body, lang))
        return texts[lang]

    return [
        Notification(
            recipient_id=rid,
            kind=kind,
            title=in_language(rid)[0],
            body=in_language(rid)[1],
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            payload=payload or {},
            dedupe_key=dedupe_key,
        )
        for rid in sorted(recipient_ids)
    ]


def _translatable(*texts) -> bool:
    return any(isinstance(text, Promise) for text in texts)


def recipient_languages(recipient_ids) -> dict[int, str]:
    """{user id: the language they chose ('' when none)}, in at most one query: through the lookup accounts installs
    (which keeps them per process, forgotten when the user is saved), else straight from the users' table."""
    if not recipient_ids:
        return {}
    if _language_lookup is not None:
        return _language_lookup(recipient_ids)
    return dict(get_user_model().objects.filter(pk__in=recipient_ids).values_list("pk", "language"))


_language_lookup = None


def install_language_lookup(lookup) -> None:
    """Called by accounts when ready: core knows no identity app, accounts knows how to keep users' choices."""
    global _language_lookup
    _language_lookup = lookup


def push_after_commit(rows: list[Notification]) -> None:
    """Push stored inbox rows to their recipients' websockets once the transaction commits."""
    if rows:
        events = [(row.recipient_id, notification_event(row)) for row in rows]
        transaction.on_commit(lambda: _push_quietly(events), robust=True)


def _push_quietly(events: list[tuple[int, dict]]) -> None:
    """After commit, never raising into the request: with Redis down the push is lost, and the phone finds the
    row in its inbox (the truth) when it next reads it or reconnects."""
    try:
        push_events(events)
    except Exception:  # noqa: BLE001 - the websocket is a convenience; the inbox is the truth
        logger.exception("push of %d notification(s) failed", len(events))


def _create_deduplicated(rows: list[Notification]) -> list[Notification]:
    try:
        with transaction.atomic():
            return Notification.objects.bulk_create(rows)
    except IntegrityError:  # a racing sender stored the same dedupe key first: one by one, skipping theirs
        kept = []
        for row in rows:
            row.pk = None
            try:
                with transaction.atomic():
                    row.save()
                kept.append(row)
            except IntegrityError:
                pass
        return kept


def push_events(events: list[tuple[int, dict]]) -> None:
    """With channels-redis, sent on an event loop this thread keeps (its Redis connections stay open), or, where the
    thread already runs an event loop, handed to this process's pusher thread. `async_to_sync(group_send)` would
    make a fresh loop and Redis connection each time (about 3 ms, measured in bench/), and a hand-over to the pusher
    thread costs about 0.4 ms of CPU more than sending here. A push lost with a crashing process is found in the
    inbox, which is the truth. Other layers (in-memory: the embedded default, tests) push inline."""
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if "channels_redis" in backend:
        if not _send_on_own_loop(events):
            _pusher.submit(events)
        return
    for user_id, event in events:
        push_to_group(user_group(user_id), {"type": "notification.event", "event": event})


_own = threading.local()


def _send_on_own_loop(events: list[tuple[int, dict]]) -> bool:
    try:
        asyncio.get_running_loop()
        return False  # an async context (a consumer's thread): its loop is not ours to block
    except RuntimeError:
        pass
    loop = getattr(_own, "loop", None)
    if loop is None or getattr(_own, "pid", None) != os.getpid():  # first use in this thread or forked process
        loop = _own.loop = asyncio.new_event_loop()
        _own.pid = os.getpid()
    layer = get_channel_layer()
    for user_id, event in events:
        try:
            loop.run_until_complete(
                layer.group_send(user_group(user_id), {"type": "notification.event", "event": event})
            )
        except Exception:  # noqa: BLE001 - best effort: the inbox row is stored
            logger.exception("push to user %s failed", user_id)
    return True


class _Pusher:
    """One thread per process with its own event loop, sending queued events to the channel layer."""

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.pid = None
        self.lock = threading.Lock()

    def submit(self, events: list) -> None:
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():  # first use in this (possibly forked) process
                    self.pid = os.getpid()
                    self.queue = queue.SimpleQueue()
                    threading.Thread(target=self._run, name="notification-push", daemon=True).start()
        self.queue.put(events)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        layer = get_channel_layer()
        while True:
            events = self.queue.get()
            for user_id, event in events:
                try:
                    loop.run_until_complete(
                        layer.group_send(user_group(user_id), {"type": "notification.event", "event": event})
                    )
                except Exception:  # noqa: BLE001 - best effort: the inbox row is stored
                    logger.exception("push to user %s failed", user_id)


_pusher = _Pusher()


def push_to_group(group: str, message: dict) -> None:
    """Best effort: the inbox row is already stored, so a push that fails is logged, not raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - the websocket is a convenience; the inbox is the truth
        logger.exception("push to %s failed", group)


def notifications_for(user):
    return Notification.objects.filter(recipient=user)


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_mark_read(*, actor, notification_id: int) -> Notification:
    n = Notification.objects.filter(recipient=actor, pk=notification_id).first()
    if n is None:
        raise NotFound(_("通知不存在"))
    if n.read_at is None:
        n.read_at = timezone.now()
        Notification.objects.filter(pk=n.pk, read_at__isnull=True).update(read_at=n.read_at)
    return n


def notification_mark_all_read(*, actor) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
