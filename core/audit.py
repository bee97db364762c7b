"""Audit events: written by services inside the same transaction as the change they record."""

from __future__ import annotations

from typing import Any

from .context import current_ip
from .models import AuditEvent


def audit_log(**fields) -> AuditEvent:
    """Store the event that audit_event(**fields) describes, in the caller's transaction."""
    event = audit_event(**fields)
    event.save()
    return event


def audit_event(
    *,
    actor,
    verb: str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    from_state: str = "",
    to_state: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """The event audit_log stores, unsaved: for a service that writes it with other rows (bulk, in one transaction)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    actor_user = actor if getattr(actor, "pk", None) else None
    return AuditEvent(
        actor=actor_user,
        actor_label=str(actor) if actor is not None else "system",
        verb=verb,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        from_state=from_state or "",
        to_state=to_state or "",
        data=data or {},
        ip=current_ip.get(),
    )
