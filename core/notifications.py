"""Notifications: durable first (an inbox row), push second (the websocket group of the recipient, after commit)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import NotFound
from .models import Notification

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_id: int) -> str:
    return f"session.{session_id}"


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
    """Write one inbox row per recipient now; push each to its websocket group once the transaction commits.

    With a `dedupe_key`, a recipient who already has a row with that key gets nothing new (idempotent senders).
    """
    recipient_ids = {getattr(r, "pk", r) for r in recipients}
    if dedupe_key:
        recipient_ids -= set(
            Notification.objects.filter(recipient_id__in=recipient_ids, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    rows = [
        Notification(
            recipient_id=getattr(r, "pk", r),
            kind=kind,
            title=title,
            body=body,
            object_type=object_type,
            object_id=object_id,
            payload=payload or {},
            dedupe_key=dedupe_key,
        )
        for r in sorted(recipient_ids)
    ]
    for row in rows:
        try:
            with transaction.atomic():
                row.save()  # one by one: every row needs its id in the pushed event, on every database
        except IntegrityError:
            if not dedupe_key:
                raise
            row.pk = None  # a racing sender stored the same key first
    rows = [row for row in rows if row.pk is not None]
    events = [(row.recipient_id, notification_event(row)) for row in rows]
    transaction.on_commit(lambda: push_events(events))
    return rows


def push_events(events: list[tuple[int, dict]]) -> None:
    for user_id, event in events:
        push_to_group(user_group(user_id), {"type": "notification.event", "event": event})


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
        raise NotFound("通知", "notification")
    if n.read_at is None:
        n.read_at = timezone.now()
        Notification.objects.filter(pk=n.pk, read_at__isnull=True).update(read_at=n.read_at)
    return n


def notification_mark_all_read(*, actor) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
