"""The 12345 hotline: register a sending system, take in its work orders, report every change back (outbox).

Intake: each work order becomes a complaint filed through `complaint_file` (the same checks, routing and
idempotency as a parent's filing) by the system's user, with the key `12345:<order number>`; the order row and its
first event (`received`) are written in the same transaction. The same order number again answers the first
complaint (200), a different body under the same number is refused (409).

Outbox: `on_complaint_change` (registered with services.register_change_listener) writes an event row in the
transaction of every audited state change of a hotline complaint, and `on_message` (registered with
services.register_message_listener) one for every message a handler writes to the caller (kind `message`, the state
unchanged); `event_deliver` sends one event (one attempt); the task retries with exponential backoff, and after
HOTLINE_MAX_ATTEMPTS the event is `failed` and the bureau is told. `event_resend` puts a failed event back in the
queue by hand. Delivered events are never sent again.

The work order's deadline caps the complaint's clock (sla.external_due_on / due_cap): the earlier day wins.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Region, Role
from accounts.scope import users_covering_town
from core.audit import audit_log
from core.dispatch import enqueue_on_commit
from core.errors import DomainError
from core.idempotency import fingerprint
from core.notifications import notify
from institutions.models import Institution

from .. import services, sla
from .. import system_clients as keyed
from ..models import HOTLINE_KEY_PREFIX, Complaint
from ..system_clients import hash_key
from .models import HotlineEvent, HotlineOrder, HotlineSystem, OutboxState

logger = logging.getLogger(__name__)

KEY_PREFIX = "sjh_"
DENIED = _("只有区级管理员可以管理 12345 对接")
IDEMPOTENCY_PREFIX = HOTLINE_KEY_PREFIX
DELIVER_TASK = "supervision.hotline_deliver"
DELIVERY_TIMEOUT_SECONDS = 5
CLAIM_SECONDS = 60  # an attempt not finished by then (a worker died) may be taken again
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 600  # below the broker's visibility timeout (settings)
ADDRESS_UNKNOWN = "（12345 来电未说明地址）"  # stored on an unlicensed record (data, in Chinese)


def max_attempts() -> int:
    return getattr(settings, "HOTLINE_MAX_ATTEMPTS", 6)


def backoff_seconds(attempts: int) -> int:
    """30 s, 60 s, 120 s, … after the 1st, 2nd, 3rd failed attempt; at most 10 minutes."""
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


# --- Systems (the bureau registers them in the admin) -----------------------------------------------------------------


def _require_bureau_admin(actor) -> None:
    keyed.require_bureau_admin(actor, DENIED)


def system_register(*, actor, name: str, callback_url: str) -> tuple[HotlineSystem, str]:
    """A new sending system and its key (returned once, stored hashed)."""
    return keyed.client_register(
        HotlineSystem, actor=actor, kind="hotline", user_name=f"12345：{name}", key_prefix=KEY_PREFIX,
        verb="hotline.system_register", denied=DENIED, name=name, callback_url=callback_url,
    )  # fmt: skip


def system_rotate_key(*, actor, system_id: int) -> str:
    return keyed.client_rotate_key(
        HotlineSystem, actor=actor, pk=system_id, key_prefix=KEY_PREFIX, verb="hotline.system_rotate_key",
        denied=DENIED,
    )  # fmt: skip


def system_for_key(raw: str | None) -> HotlineSystem | None:
    if not raw or len(raw) > 200:
        return None
    return HotlineSystem.objects.select_related("user").filter(key_hash=hash_key(raw), is_active=True).first()


# --- Intake -----------------------------------------------------------------------------------------------------------


@dataclass
class WorkOrder:
    order_number: str
    caller_name: str
    caller_phone: str
    content: str
    category: str
    deadline: datetime
    institution_id: int | None = None
    institution_name: str = ""
    institution_address: str = ""
    town_code: str = ""
    called_at: datetime | None = None


# The filing service names its fields as a parent's form does; a 12345 sender knows them by the order's names.
_FIELD_NAMES = {
    "description": "content",
    "institution_id": "institution_id",
    "new_institution.town_id": "town_code",
    "occurred_at": "called_at",
}


def _institution_for(order: WorkOrder) -> tuple[int | None, services.NewInstitution | None]:
    if order.institution_id is not None:
        return order.institution_id, None
    name = order.institution_name.strip()
    if not name:
        raise DomainError(
            "hotline.institution_required",
            _("请提供被投诉机构：institution_id 或 institution_name"),
            status=422,
            fields={"institution_name": _("必填")},
        )
    same_name = list(Institution.objects.filter(name=name).values_list("pk", flat=True)[:2])
    if len(same_name) == 1:  # the registry knows it by this very name
        return same_name[0], None
    town = (
        Region.objects.filter(code=order.town_code.strip(), parent__isnull=False, valid_to__isnull=True).first()
        if order.town_code.strip()
        else None
    )
    if town is None:
        raise DomainError(
            "hotline.town_required",
            _("机构不在名录中：请提供其所在镇街的区划代码（town_code）"),
            status=422,
            fields={"town_code": _("镇街不存在")},
        )
    return None, services.NewInstitution(
        name=name, address=order.institution_address.strip() or ADDRESS_UNKNOWN, town_id=town.pk
    )


def order_receive(*, system: HotlineSystem, order: WorkOrder) -> tuple[HotlineOrder, bool]:
    """(the order with its complaint, created). Idempotent on the order number."""
    request_hash = fingerprint(
        order.order_number, order.caller_name, order.caller_phone, order.content, order.category,
        order.deadline.isoformat(), order.institution_id, order.institution_name, order.institution_address,
        order.town_code,
    )  # fmt: skip
    existing = _existing(system, order.order_number, request_hash)
    if existing is not None:
        return existing, False
    institution_id, new = _institution_for(order)
    filing = services.Filing(
        category=order.category,
        description=order.content,
        occurred_at=order.called_at or timezone.now(),
        institution_id=institution_id,
        new_institution=new,
    )
    try:
        with transaction.atomic():
            complaint, _created = services.complaint_file(
                actor=system.user, filing=filing, idempotency_key=IDEMPOTENCY_PREFIX + order.order_number
            )
            with transaction.atomic():
                row = HotlineOrder.objects.create(
                    system=system,
                    order_number=order.order_number,
                    complaint=complaint,
                    caller_name=order.caller_name,
                    caller_phone=order.caller_phone,
                    content=order.content,
                    category=order.category,
                    deadline=order.deadline,
                    institution_text=(order.institution_name or str(order.institution_id or ""))[:300],
                    request_hash=request_hash,
                )
            # The platform's deadline caps the clock started at filing (sla: the earlier of the two).
            capped = sla.due_cap(complaint, timezone.localtime(row.deadline).date(), services.local_today())
            if capped:
                Complaint.objects.filter(pk=complaint.pk).update(**{name: getattr(complaint, name) for name in capped})
            audit_log(
                actor=system.user,
                verb="hotline.order_receive",
                obj=row,
                data={"order_number": row.order_number, "complaint_id": complaint.pk, "system": system.name},
            )
            _write_event(row, complaint, kind="received")
    except IntegrityError:  # the same order number, sent twice at once: the other request filed it
        existing = _existing(system, order.order_number, request_hash)
        if existing is None:
            raise
        return existing, False
    except DomainError as exc:
        exc.fields = {_FIELD_NAMES.get(k, k): v for k, v in exc.fields.items()}
        if exc.code == "idempotency.key_reused":
            raise _order_reused() from None
        raise
    return row, True


def _order_reused() -> DomainError:
    return DomainError(
        "hotline.order_number_reused",
        _("该工单号已用于另一份内容不同的工单"),
        status=409,
        fields={"order_number": _("工单号重复")},
    )


def _existing(system: HotlineSystem, order_number: str, request_hash: str) -> HotlineOrder | None:
    row = (
        HotlineOrder.objects.select_related("complaint")
        .filter(system=system, order_number=order_number)
        .first()
    )
    if row is not None and row.request_hash != request_hash:
        raise _order_reused()
    return row


# --- The outbox -------------------------------------------------------------------------------------------------------


def _write_event(order: HotlineOrder, complaint: Complaint, *, kind: str, from_state: str = "", extra=None):
    """The event row, in the caller's transaction; its delivery is sent after commit."""
    sequence = (HotlineEvent.objects.filter(order=order).aggregate(n=Max("sequence"))["n"] or 0) + 1
    event = HotlineEvent(order=order, sequence=sequence, kind=kind)
    payload = {
        "event_id": str(event.event_id),
        "sequence": sequence,
        "event": kind,
        "order_number": order.order_number,
        "tracking_number": complaint.tracking_number,
        "from_status": from_state,
        "status": complaint.status,
        "occurred_at": timezone.localtime().isoformat(),
    }
    if complaint.outcome:
        payload |= {"outcome": complaint.outcome, "answer": complaint.answer, "referred_to": complaint.referred_to}
    if complaint.rejection_reason:
        payload |= {"rejection_reason": complaint.rejection_reason, "answer": complaint.answer}
    if complaint.sla_due_on and complaint.is_open:
        payload["due_on"] = complaint.sla_due_on.isoformat()
    payload |= extra or {}
    event.payload = payload
    event.save(force_insert=True)
    enqueue_on_commit(DELIVER_TASK, args=[event.pk])
    return event


def on_complaint_change(complaint: Complaint, *, verb: str, from_state: str, data: dict) -> None:
    """A listener of services._save_transition: every state change of a hotline complaint becomes an event. Other
    complaints cost nothing (their idempotency key says they are not from the hotline), except an answer: hotline
    complaints merged into the one answered get its outcome (one query)."""
    if verb == "complaint.answer":
        _share_outcome(complaint)
    if not complaint.idempotency_key.startswith(IDEMPOTENCY_PREFIX) or complaint.status == from_state:
        return
    order = HotlineOrder.objects.filter(complaint_id=complaint.pk).first()
    if order is None:
        return
    _write_event(order, complaint, kind=verb.removeprefix("complaint."), from_state=from_state)


def on_message(complaint: Complaint, message) -> None:
    """A listener of services.complaint_message_post: a handler's message in the thread of a hotline complaint (a
    word or a question for the caller, the state unchanged) goes back to 12345 as a `message` event, written in the
    message's transaction. Other complaints cost nothing (their idempotency key says they are not from 12345)."""
    if not complaint.idempotency_key.startswith(IDEMPOTENCY_PREFIX):
        return
    order = HotlineOrder.objects.filter(complaint_id=complaint.pk).first()
    if order is None:
        return
    _write_event(
        order,
        complaint,
        kind="message",
        from_state=complaint.status,
        extra={
            "message_id": message.pk,
            "message": message.body,
            "awaiting_caller": bool(message.awaiting_parent),
        },
    )



def _share_outcome(primary: Complaint) -> None:
    """The outcome of a complaint reaches the 12345 orders merged into it as duplicates (their own state stays
    `rejected`, as a duplicate; services._inform_merged gives their rows the outcome in the same transaction)."""
    for order in HotlineOrder.objects.select_related("complaint").filter(complaint__merged_into_id=primary.pk):
        child = order.complaint
        _write_event(
            order,
            child,
            kind="outcome_shared",
            from_state=child.status,
            extra={
                "outcome": primary.outcome,
                "answer": primary.answer,
                "referred_to": primary.referred_to,
                "merged_into": primary.tracking_number,
            },
        )


def _post(url: str, body: dict, event_id: str) -> str:
    """'' when the receiver took it (2xx), else what went wrong."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Event-Id": event_id,
            "Idempotency-Key": event_id,
            "User-Agent": "shuangjian-hotline/1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:300]
    return "" if 200 <= status < 300 else f"HTTP {status}"


def event_deliver(event_pk: int) -> tuple[str, int]:
    """One attempt to deliver an event: ("delivered" | "retry" | "failed" | "skipped", seconds until the retry).
    The attempt is claimed first (a conditional update), so two workers never send the same event at once."""
    now = timezone.now()
    claimed = HotlineEvent.objects.filter(
        Q(state=OutboxState.PENDING) | Q(state=OutboxState.SENDING, claimed_until__lt=now), pk=event_pk
    ).update(
        state=OutboxState.SENDING, attempts=F("attempts") + 1, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
    )
    if not claimed:
        return "skipped", 0
    event = HotlineEvent.objects.select_related("order__system", "order__complaint").get(pk=event_pk)
    error = _post(event.order.system.callback_url, event.payload, str(event.event_id))
    sending = HotlineEvent.objects.filter(pk=event_pk, state=OutboxState.SENDING)
    if not error:
        sending.update(state=OutboxState.DELIVERED, delivered_at=timezone.now(), last_error="", claimed_until=None)
        return "delivered", 0
    logger.warning("12345 event %s attempt %s failed: %s", event.event_id, event.attempts, error)
    if event.attempts < max_attempts():
        delay = backoff_seconds(event.attempts)
        sending.update(
            state=OutboxState.PENDING,
            last_error=error,
            claimed_until=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        return "retry", delay
    with transaction.atomic():
        if sending.update(state=OutboxState.FAILED, last_error=error, claimed_until=None, next_attempt_at=None):
            complaint = event.order.complaint
            audit_log(
                actor=None,
                verb="hotline.event_failed",
                obj=event,
                from_state=OutboxState.SENDING,
                to_state=OutboxState.FAILED,
                data={"order_number": event.order.order_number, "attempts": event.attempts, "error": error},
            )
            notify(
                recipients=users_covering_town(complaint.town_id, Role.BUREAU_ADMIN),
                kind="hotline.event_failed",
                title=format_lazy(
                    _("12345 工单 {number} 的回传失败，请检查后重发"), number=event.order.order_number
                ),
                body=error,
                obj=event,
                payload={"order_number": event.order.order_number},
                dedupe_key=f"hotline-failed:{event.pk}:{event.attempts}",
            )
    return "failed", 0


def event_resend(*, actor, event_pk: int) -> HotlineEvent:
    """A failed event back in the queue (a bureau admin's resend button): tried again from its first attempt."""
    _require_bureau_admin(actor)
    with transaction.atomic():
        event = HotlineEvent.objects.select_related("order").filter(pk=event_pk).first()
        if event is None:
            raise DomainError("hotline.event_not_found", _("回传事件不存在"), status=404)
        if not HotlineEvent.objects.filter(pk=event.pk, state=OutboxState.FAILED).update(
            state=OutboxState.PENDING, attempts=0, next_attempt_at=None
        ):
            raise DomainError(
                "hotline.event_not_failed", _("只有发送失败的事件可以重发"), status=409
            )
        audit_log(
            actor=actor,
            verb="hotline.event_resend",
            obj=event,
            from_state=OutboxState.FAILED,
            to_state=OutboxState.PENDING,
            data={"order_number": event.order.order_number, "previous_attempts": event.attempts},
        )
        enqueue_on_commit(DELIVER_TASK, args=[event.pk])
    event.refresh_from_db()
    return event


def outbox_sweep(*, grace_seconds: int = 120) -> int:
    """Events whose delivery was lost (a broker message dropped, a worker killed mid-attempt) are sent again:
    pending ones past their retry time, and attempts claimed but never finished. Returns how many were queued."""
    now = timezone.now()
    late = now - timedelta(seconds=grace_seconds)
    stuck = HotlineEvent.objects.filter(
        Q(state=OutboxState.PENDING, next_attempt_at__lte=late)
        | Q(state=OutboxState.PENDING, next_attempt_at__isnull=True, created_at__lte=late)
        | Q(state=OutboxState.SENDING, claimed_until__lt=now)
    ).values_list("pk", flat=True)[:500]
    ids = list(stuck)
    for pk in ids:
        enqueue_on_commit(DELIVER_TASK, args=[pk])
    return len(ids)
