"""Notifications of complaints: the inbox rows are written in the caller's transaction (durable first, as
core.notifications does, in one INSERT), the websocket push leaves after commit without holding the request
(push second).

Why not core.notifications.notify directly: its push runs `async_to_sync(group_send)` in the request, which makes a
fresh event loop and channel-layer connection each time (about 3 ms per request in bench/). Here, with channels-redis,
each process hands its pushes to one background thread that keeps its event loop and connections; a push lost with
a crashing process is found in the inbox, which is the truth. With the in-memory layer (the embedded default,
tests) the push is made inline after commit, as core does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction

from core.models import Notification
from core.notifications import notification_event, push_events, user_group

logger = logging.getLogger(__name__)


def tell(
    *,
    recipients: Iterable,
    kind: str,
    title: str,
    body: str = "",
    obj: Any = None,
    payload: dict | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """One inbox row per recipient (one INSERT); a recipient who already has `dedupe_key` gets nothing new."""
    recipient_ids = {getattr(r, "pk", r) for r in recipients} - {None}
    if not recipient_ids:
        return []
    if dedupe_key:
        recipient_ids -= set(
            Notification.objects.filter(recipient_id__in=recipient_ids, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
    rows = [
        Notification(
            recipient_id=rid,
            kind=kind,
            title=title[:200],
            body=body,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            payload=payload or {},
            dedupe_key=dedupe_key,
        )
        for rid in sorted(recipient_ids)
    ]
    if not dedupe_key:
        rows = Notification.objects.bulk_create(rows)
    else:
        rows = _create_deduplicated(rows)
    if rows:
        events = [(row.recipient_id, notification_event(row)) for row in rows]
        transaction.on_commit(lambda: push_later(events))
    return rows


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
                    threading.Thread(target=self._run, name="complaint-push", daemon=True).start()
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


def push_later(events: list) -> None:
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if "channels_redis" in backend:
        _pusher.submit(events)
    else:
        push_events(events)
