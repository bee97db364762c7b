"""Rectification orders (责令整改, R-INSP-2): a finding opens one with a deadline chosen per case (by default from its
severity, in working days); institution staff answer with evidence; an inspector verifies (normally on a follow-up
visit) and only then is it closed. A daily sweep warns before the deadline and escalates overdue orders to the
bureau of the town; open and overdue orders count in the institution's risk grade (inspection_risk_signals)."""

from __future__ import annotations

import hashlib
import uuid as uuid_module
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Region, Role
from core import uploads
from core.audit import audit_log
from core.errors import DomainError, NotFound, PermissionDenied
from core.notifications import notify
from core.policy import policy_int
from core.transitions import transition
from core.workdays import add_working_days
from institutions.risk import recompute_risk

from .models import (
    Finding,
    Inspection,
    InspectionAssignment,
    InspectionOrigin,
    InspectionStatus,
    OrderStatus,
    RectificationEvidence,
    RectificationOrder,
)
from .permissions import access_order
from .plans import staff_visit
from .sync import PHOTO_MAX_BYTES

OPEN = (OrderStatus.OPEN, OrderStatus.ANSWERED)


def is_overdue(order: RectificationOrder, today=None) -> bool:
    return order.status in OPEN and order.due_on < (today or timezone.localdate())


def default_due_on(severity: str, today=None):
    today = today or timezone.localdate()
    return add_working_days(today, policy_int(f"rectification_working_days_{severity}", today))


def order_issue(*, actor, finding_id: int, evidence_required: str, due_on=None) -> RectificationOrder:
    evidence_required = (evidence_required or "").strip()
    with transaction.atomic():
        finding = Finding.objects.select_related("inspection").filter(pk=finding_id).first()
        may = finding is not None and (
            (scope.is_bureau(actor) and finding.inspection.town_id in scope.town_ids(actor))
            or InspectionAssignment.objects.filter(inspection_id=finding.inspection_id, inspector_id=actor.pk).exists()
        )
        if not may:
            raise NotFound(_("问题不存在"))
        if RectificationOrder.objects.filter(finding=finding).exists():
            raise DomainError("order.exists", _("该问题已下达整改通知"), status=409)
        today = timezone.localdate()
        due_on = due_on or default_due_on(finding.severity, today)
        if due_on <= today:
            raise DomainError(
                "order.bad_deadline", _("整改期限须晚于今天"), status=422,
                fields={"due_on": _("须晚于今天")},
            )  # fmt: skip
        order = RectificationOrder.objects.create(
            finding=finding,
            institution_id=finding.institution_id,
            town_id=finding.inspection.town_id,
            due_on=due_on,
            evidence_required=evidence_required[:1000],
            issued_by=actor,
        )
        audit_log(actor=actor, verb="rectification.issue", obj=order, to_state=OrderStatus.OPEN,
                  data={"finding": finding.pk, "due_on": str(due_on)})  # fmt: skip
        notify(
            recipients=scope.users_of_institution(order.institution_id),
            kind="rectification.issued",
            title=f"责令整改通知：请于 {due_on} 前完成整改",
            body=evidence_required,
            obj=order,
        )
    transaction.on_commit(lambda: recompute_risk(order.institution_id))  # an open order worsens the grade
    return order


def _changed_meanwhile(order) -> DomainError:
    return DomainError("order.changed_meanwhile", _("整改通知已被他人处理，请刷新"), status=409)


def order_respond(*, actor, order_id: int, response: str, photo_uuids: list[str] | None = None) -> RectificationOrder:
    with transaction.atomic():
        order = access_order(actor, order_id, for_update=True)
        if order.institution_id not in scope.institution_ids(actor):
            raise PermissionDenied(_("仅被检查机构可以提交整改情况"))
        if order.status != OrderStatus.OPEN:
            raise DomainError("order.not_open", _("该整改通知不在待整改状态"), status=409)
        named = {str(u).lower() for u in (photo_uuids or [])}
        arrived = {str(u) for u in order.evidence.values_list("uuid", flat=True)}
        if named - arrived:
            raise DomainError(
                "order.evidence_missing", _("有照片尚未上传，请先上传再提交"),
                status=422, fields={"photo_uuids": (f"未收到：{', '.join(sorted(named - arrived))}", "Not received")},
            )  # fmt: skip
        order = transition(
            order, actor=actor, verb="rectification.respond", allowed_from=OrderStatus.OPEN, to=OrderStatus.ANSWERED,
            fields=dict(
                response=response.strip()[:4000], response_photo_uuids=[str(u)[:64] for u in (photo_uuids or [])],
                responded_by=actor, responded_at=timezone.now(),
            ),
            error=_changed_meanwhile,
        )  # fmt: skip
        notify(recipients=[order.issued_by_id], kind="rectification.answered", title="机构已提交整改情况", obj=order)
    return order


def order_verify(*, actor, order_id: int, accepted: bool, note: str) -> RectificationOrder:
    """An inspector of the visit (or the bureau) checks the evidence: accepted closes, refused sends it back."""
    with transaction.atomic():
        order = access_order(actor, order_id, for_update=True)
        if not (scope.is_bureau(actor) or scope.has_role(actor, Role.INSPECTOR)):
            raise PermissionDenied(_("仅检查人员可以核验"))
        def not_answered(order) -> DomainError:
            return DomainError(
                "order.not_answered", _("机构尚未提交整改情况"), status=409
            )

        order = transition(
            order, actor=actor, verb="rectification.close" if accepted else "rectification.send_back",
            allowed_from=OrderStatus.ANSWERED, to=OrderStatus.CLOSED if accepted else OrderStatus.OPEN,
            fields=(
                dict(verified_by=actor, verification_note=note[:1000], closed_at=timezone.now())
                if accepted else dict(verification_note=note[:1000])
            ),
            error=not_answered, stale=_changed_meanwhile,
        )  # fmt: skip
        notify(
            recipients=scope.users_of_institution(order.institution_id),
            kind="rectification.closed" if accepted else "rectification.sent_back",
            title="整改已核验销号" if accepted else "整改未通过核验，请继续整改",
            body=note,
            obj=order,
        )
    transaction.on_commit(lambda: recompute_risk(order.institution_id))
    return order


def order_followup_open(*, actor, order_id: int, inspector_ids: list[int] | None = None, due_by=None):
    """Open the follow-up visit that verifies an order on site (origin "followup", linked to the order): by bureau
    staff of the town or an inspector of the visit that found the problem; the team defaults to that visit's. The
    phone gets it in its assigned visits with the order among the institution's open orders."""
    with transaction.atomic():
        order = access_order(actor, order_id, for_update=True)
        if not (scope.is_bureau(actor) or scope.has_role(actor, Role.INSPECTOR)):
            raise PermissionDenied(_("仅检查人员或教育局可以安排复查"))
        if order.status not in OPEN:
            raise DomainError("order.closed", _("整改通知已销号"), status=409)
        if (
            order.followup_id
            and Inspection.objects.filter(pk=order.followup_id)
            .exclude(status__in=[InspectionStatus.COMPLETE, InspectionStatus.CANCELLED])
            .exists()
        ):
            raise DomainError(
                "order.followup_open", _("已安排复查且尚未完成"), status=409
            )
        if due_by is not None and due_by < timezone.localdate():
            raise DomainError(
                "order.bad_deadline", _("复查期限不能早于今天"), status=422,
                fields={"due_by": _("不能早于今天")},
            )  # fmt: skip
        if not inspector_ids:
            inspector_ids = list(
                InspectionAssignment.objects.filter(inspection_id=order.finding.inspection_id).values_list(
                    "inspector_id", flat=True
                )
            )
        # Inspectors of the district or any of its towns, as a district plan's pool may hold.
        district = Region.objects.filter(pk=order.town_id).values_list("parent_id", flat=True).first()
        covered = scope.regions_under([district or order.town_id])
        visit = staff_visit(
            actor=actor,
            institution=order.institution,
            origin=InspectionOrigin.FOLLOWUP,
            inspector_ids=inspector_ids,
            covered=covered,
            due_by=due_by or max(order.due_on, timezone.localdate()),
        )
        RectificationOrder.objects.filter(pk=order.pk).update(followup=visit)
        audit_log(actor=actor, verb="rectification.followup", obj=order, from_state=order.status,
                  to_state=order.status, data={"inspection": visit.pk})  # fmt: skip
        audit_log(actor=actor, verb="inspection.open_followup", obj=visit, to_state=InspectionStatus.ASSIGNED,
                  data={"order": order.pk, "institution": order.institution_id})  # fmt: skip
    return visit


def rectification_sweep(today=None) -> dict[str, int]:
    """Warn institution and issuer before a deadline (once), escalate an overdue order to the town's bureau (once)."""
    today = today or timezone.localdate()
    warn_until = add_working_days(today, policy_int("rectification_warn_working_days", today))
    warned = escalated = 0
    for order in RectificationOrder.objects.filter(status__in=OPEN, warned=False, due_on__gte=today,
                                                   due_on__lte=warn_until):  # fmt: skip
        with transaction.atomic():
            if RectificationOrder.objects.filter(pk=order.pk, warned=False).update(warned=True):
                notify(
                    recipients=[*scope.users_of_institution(order.institution_id), order.issued_by_id],
                    kind="rectification.due_soon",
                    title=f"整改期限临近：{order.due_on}",
                    obj=order,
                    dedupe_key=f"rectification.due_soon.{order.pk}",
                )
                warned += 1
    for order in RectificationOrder.objects.filter(status__in=OPEN, escalated=False, due_on__lt=today):
        with transaction.atomic():
            if RectificationOrder.objects.filter(pk=order.pk, escalated=False).update(escalated=True):
                audit_log(actor=None, verb="rectification.escalate", obj=order, from_state=order.status,
                          to_state=order.status, data={"due_on": str(order.due_on)})  # fmt: skip
                notify(
                    recipients=[*scope.users_covering_town(order.town_id), order.issued_by_id],
                    kind="rectification.overdue",
                    title=f"整改逾期：{order.institution_id} 号机构（期限 {order.due_on}）",
                    obj=order,
                    dedupe_key=f"rectification.overdue.{order.pk}",
                )
                escalated += 1
                transaction.on_commit(lambda i=order.institution_id: recompute_risk(i))
    return {"warned": warned, "escalated": escalated}


def inspection_risk_signals(institution_id: int) -> dict[str, int]:
    """For institutions.risk: findings of the last 12 months and those still under an open order (an open order keeps
    its finding counting after 12 months), orders not yet closed, and among them the overdue ones."""
    today = timezone.localdate()
    since = timezone.now() - timedelta(days=365)
    counts = dict(
        Finding.objects.filter(institution_id=institution_id)
        .filter(Q(created_at__gte=since) | Q(order__status__in=OPEN))
        .values_list("severity")
        .annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    orders = RectificationOrder.objects.filter(institution_id=institution_id, status__in=OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today))
    )
    signals = {
        "inspection_findings_high_12m": counts.get("high", 0),
        "inspection_findings_medium_12m": counts.get("medium", 0),
        "inspection_findings_low_12m": counts.get("low", 0),
        "rectifications_open": orders["open"],
        "rectifications_overdue": orders["overdue"],
    }
    return {name: n for name, n in signals.items() if n}  # only what there is: the audit shows real signals


def evidence_order(actor, order_id: int) -> RectificationOrder:
    """The open order whose institution the actor works for: 404 for a missing or unseen order, 403 for one the
    actor sees but does not answer, 409 once it is answered. Checked before an upload's body is read."""
    order = access_order(actor, order_id)
    if order.institution_id not in scope.institution_ids(actor):
        raise PermissionDenied(_("仅被检查机构可以提交整改佐证"))
    if order.status != OrderStatus.OPEN:
        raise DomainError("order.not_open", _("该整改通知不在待整改状态"), status=409)
    return order


def evidence_upload(*, actor, order_id: int, photo_uuid: str, sha256: str, upload):
    """(evidence, stored now): institution staff add a photo to their answer, by UUID and SHA-256, with the same
    rules as visit photos (same content again: no copy; other content under a used UUID: 409; hash mismatch: 422)."""
    try:
        key = uuid_module.UUID(str(photo_uuid))
    except ValueError:
        raise DomainError(
            "sync.bad_uuid", _("不是有效的 UUID"), status=422, fields={"uuid": _("格式不正确")}
        ) from None
    order = evidence_order(actor, order_id)
    if upload.size > PHOTO_MAX_BYTES:
        raise DomainError("photo.too_large", _("照片不能超过 10 MB"), status=413)
    content = upload.read()
    if hashlib.sha256(content).hexdigest() != (sha256 or "").strip().lower():
        raise DomainError(
            "photo.hash_mismatch", _("照片内容与 sha256 不符，请重新上传"),
            status=422, fields={"sha256": _("与内容不符")},
        )  # fmt: skip
    existing = RectificationEvidence.objects.filter(uuid=key).first()
    if existing is not None:
        if existing.order_id == order.pk and existing.sha256 == sha256.strip().lower():
            return existing, False
        raise DomainError(
            "photo.uuid_taken", _("该 UUID 已用于其他照片"), status=409
        )
    upload.seek(0)
    checked = uploads.check_image(upload, max_bytes=PHOTO_MAX_BYTES)
    upload.seek(0)
    kept, _thumb, _size = uploads.clean_image(upload)  # no EXIF
    name = default_storage.save(f"inspections/evidence/{uploads.random_name('jpg')}", ContentFile(kept))
    try:
        with transaction.atomic():
            row = RectificationEvidence.objects.create(
                order=order, uuid=key, sha256=sha256.strip().lower(), image=name,
                content_type=checked.content_type, size=checked.size, uploaded_by=actor,
            )  # fmt: skip
    except IntegrityError:
        default_storage.delete(name)
        existing = RectificationEvidence.objects.get(uuid=key)
        if existing.order_id == order.pk and existing.sha256 == sha256.strip().lower():
            return existing, False
        raise DomainError(
            "photo.uuid_taken", _("该 UUID 已用于其他照片"), status=409
        ) from None
    return row, True
