"""One institution's whole history as one timeline: licence events and status changes (audit events), change
proposals, complaints (never the parent's identity), inspections and their findings, rectification orders, penalties,
staff joining and leaving; beside it the scans of its QR code per week.

A fixed number of queries whatever the history's length: one per source, each capped at the latest SOURCE_LIMIT
rows, and the scans in one grouped query."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import is_english
from core.models import AuditEvent
from core.money import fmt
from institutions.models import ChangeProposal, Institution, ScanCount, Status
from supervision.complaints.models import Complaint
from supervision.inspections.models import (
    Finding,
    Inspection,
    OrderStatus,
    PenaltyDecision,
    RectificationOrder,
)

SOURCE_LIMIT = 100
SCAN_WEEKS = 12

# Kinds of entry: the filter chips and the entry's colour.
KINDS = {
    "licence": _("许可与状态"),
    "record": _("登记信息"),
    "proposal": _("变更申请"),
    "complaint": _("投诉"),
    "inspection": _("检查"),
    "order": _("整改"),
    "penalty": _("处罚"),
    "staff": _("人员"),
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: object
    detail: object = ""
    link: str = ""

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)


def _status_label(value: str):
    return Status(value).label if value in Status.values else value


def _audit_entries(institution: Institution) -> list[Entry]:
    rows = AuditEvent.objects.filter(object_type="institutions.institution", object_id=str(institution.pk)).order_by(
        "-at", "-id"
    )[:SOURCE_LIMIT]
    out = []
    for e in rows:
        data = e.data or {}
        if e.verb == "institution.register":
            title = format_lazy(_("登记入册：{status}"), status=_status_label(e.to_state))
            out.append(Entry(e.at, "licence", title, data.get("reason", "")))
        elif e.verb == "institution.status":
            title = format_lazy(
                _("状态变更：{old} → {new}"), old=_status_label(e.from_state), new=_status_label(e.to_state)
            )
            out.append(Entry(e.at, "licence", title, format_lazy(_("原因：{reason}"), reason=data.get("reason", ""))))
        elif e.verb == "institution.update":
            changed = "、".join(sorted((data.get("changes") or {}).keys()))
            kind = "licence" if "licence" in changed else "record"
            out.append(Entry(e.at, kind, _("登记信息修改"), changed))
        elif e.verb == "institution.token_rotate":
            out.append(Entry(e.at, "record", _("更换核验二维码"), data.get("reason", "")))
        elif e.verb == "institution.escrow":
            out.append(Entry(e.at, "record", _("登记资金监管账户"), data.get("bank", "")))
        elif e.verb == "institution.risk":
            out.append(Entry(e.at, "record", format_lazy(_("风险等级：{grade}"), grade=e.to_state or "")))
        elif e.verb in ("institution.account.add", "institution.account.remove"):
            name = data.get("name", "")
            title = (
                format_lazy(_("开通机构账号：{name}"), name=name)
                if e.verb.endswith(".add")
                else format_lazy(_("移除机构账号：{name}"), name=name)
            )
            out.append(Entry(e.at, "staff", title, format_lazy(_("原因：{reason}"), reason=data.get("reason", ""))))
        elif e.verb.startswith("institution.staff."):
            out.append(_staff_entry(e.at, e.verb.rsplit(".", 1)[1], data.get("before") or {}, data.get("after") or {}))
        elif e.verb.startswith("institution."):
            parts = e.verb.split(".")
            if len(parts) == 3 and parts[1] in ChangeProposal.Kind.values:
                what = ChangeProposal.Kind(parts[1]).label
                how = ChangeProposal.Action(parts[2]).label if parts[2] in ChangeProposal.Action.values else parts[2]
                name = (data.get("after") or data.get("before") or {}).get("name", "")
                out.append(Entry(e.at, "record", format_lazy("{} {}", how, what), name))
    return out


def _staff_entry(at, action: str, before: dict, after: dict) -> Entry:
    name = after.get("name") or before.get("name") or ""
    if action == "create":
        return Entry(at, "staff", format_lazy(_("人员入职：{name}"), name=name))
    if action == "delete" or (before.get("is_active") and after.get("is_active") is False):
        return Entry(at, "staff", format_lazy(_("人员离职：{name}"), name=name))
    return Entry(at, "staff", format_lazy(_("人员信息修改：{name}"), name=name))


def _proposal_entries(institution: Institution) -> list[Entry]:
    out = []
    rows = ChangeProposal.objects.filter(institution=institution).order_by("-proposed_at", "-id")[:SOURCE_LIMIT]
    for p in rows:
        what = format_lazy("{} {}", p.get_action_display(), p.get_kind_display())
        name = (p.after or p.before or {}).get("name", "")
        out.append(Entry(p.proposed_at, "proposal", format_lazy(_("提交变更申请：{what}"), what=what), name))
        if p.reviewed_at:
            out.append(
                Entry(p.reviewed_at, "proposal", format_lazy(_("变更申请{state}：{what}"), state=p.get_state_display(),
                                                              what=what), p.review_note)
            )  # fmt: skip
            if p.kind == ChangeProposal.Kind.STAFF and p.state == ChangeProposal.State.APPROVED:
                out.append(_staff_entry(p.reviewed_at, p.action, p.before or {}, p.after or {}))
    return out


def _complaint_entries(institution: Institution) -> list[Entry]:
    # Never the parent: no parent field is read, only what the complaint is about and where it stands.
    rows = (
        Complaint.objects.filter(institution=institution)
        .select_related("category")
        .only(
            "pk",
            "tracking_number",
            "status",
            "outcome",
            "created_at",
            "closed_at",
            "category__name_zh",
            "category__name_en",
        )
        .order_by("-created_at", "-id")[:SOURCE_LIMIT]
    )
    out = []
    for c in rows:
        category = c.category.name_en if is_english() else c.category.name_zh
        title = format_lazy(_("投诉 {number}：{category}"), number=c.tracking_number, category=category)
        detail = c.get_status_display() + (f" · {c.get_outcome_display()}" if c.outcome else "")
        out.append(Entry(c.created_at, "complaint", title, detail, reverse("complaint-page", args=[c.pk])))
    return out


def _inspection_entries(institution: Institution) -> list[Entry]:
    out = []
    visits = Inspection.objects.filter(institution=institution).order_by("-created_at", "-id")[:SOURCE_LIMIT]
    for v in visits:
        title = format_lazy(
            _("检查（{origin}）：{status}"), origin=v.get_origin_display(), status=v.get_status_display()
        )
        result = v.get_result_display() if v.result else ""
        out.append(Entry(v.completed_at or v.created_at, "inspection", title, result))
    findings = (Finding.objects.filter(institution=institution).select_related("item").order_by("-created_at", "-id"))[
        :SOURCE_LIMIT
    ]
    for f in findings:
        rule = f.rule_id or (f.item.rule_id if f.item is not None else "")
        title = format_lazy(_("检查发现问题 {rule}（{severity}）"), rule=rule, severity=f.get_severity_display())
        detail = f.description or (f.item.question_zh if f.item is not None else "")
        out.append(Entry(f.created_at, "inspection", title, detail))
    return out


def _order_entries(institution: Institution, today: date) -> list[Entry]:
    out = []
    rows = RectificationOrder.objects.filter(institution=institution).order_by("-created_at", "-id")[:SOURCE_LIMIT]
    for o in rows:
        overdue = o.status != OrderStatus.CLOSED and o.due_on < today
        title = format_lazy(_("责令整改：{status}，期限 {due}"), status=o.get_status_display(), due=o.due_on)
        detail = format_lazy("{}{}", o.evidence_required, _("（已逾期）") if overdue else "")
        out.append(Entry(o.created_at, "order", title, detail))
        if o.closed_at:
            out.append(Entry(o.closed_at, "order", _("整改销号"), o.verification_note))
    return out


def _penalty_entries(institution: Institution) -> list[Entry]:
    out = []
    rows = PenaltyDecision.objects.filter(institution=institution).order_by("-decided_at", "-id")[:SOURCE_LIMIT]
    for p in rows:
        amount = format_lazy(_("，{amount} 元"), amount=fmt(p.amount)) if p.amount is not None else ""
        title = format_lazy(_("行政处罚：{kind}{amount}"), kind=p.get_kind_display(), amount=amount)
        out.append(Entry(p.decided_at, "penalty", title, p.get_violation_display()))
    return out


def institution_timeline(institution: Institution, *, today: date | None = None, kind: str = "") -> list[Entry]:
    """Every source, newest first (or one kind only)."""
    today = today or timezone.localdate()
    entries = [
        *_audit_entries(institution),
        *_proposal_entries(institution),
        *_complaint_entries(institution),
        *_inspection_entries(institution),
        *_order_entries(institution, today),
        *_penalty_entries(institution),
    ]
    if kind:
        entries = [e for e in entries if e.kind == kind]
    return sorted(entries, key=lambda e: e.at, reverse=True)


def scans_per_week(institution: Institution, *, today: date | None = None, weeks: int = SCAN_WEEKS) -> list[dict]:
    """Scans of the institution's codes (all of them, rotated ones too) per ISO week, the latest `weeks` weeks,
    Monday first; one query."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=weeks - 1)
    by_day = (
        ScanCount.objects.filter(token__institution=institution, day__gte=start, day__lte=today)
        .values("day")
        .annotate(n=Sum("count"))
        .values_list("day", "n")
    )
    per_week: dict[date, int] = defaultdict(int)
    for day, n in by_day:
        per_week[day - timedelta(days=day.weekday())] += n or 0
    top = max(per_week.values(), default=0)
    out = []
    for i in range(weeks):
        week = start + timedelta(weeks=i)
        n = per_week.get(week, 0)
        out.append({"week": week, "count": n, "share": round(100 * n / top) if top else 0})
    return out
