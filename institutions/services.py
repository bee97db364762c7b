"""Writes to the registry. Every change is checked, audited in the same transaction, and its side effects (poster
rebuild, notifications) leave after commit."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.audit import audit_log
from core.errors import DomainError, NotFound, PermissionDenied, joined
from core.notifications import notify
from core.text import disguise_in
from core.transitions import transition

from . import changes, policy
from .models import Category, ChangeProposal, EscrowAccount, Institution, Mode, Status, VerificationToken
from .selectors import EDITOR_ROLES
from .validation import (
    FieldErrors,
    clean_contact_phone,
    clean_coordinates,
    clean_credit_code,
    clean_licence_dates,
    clean_licence_number,
    clean_money,
)

# Which status may follow which. Closing (注销) is possible from every state but closed itself.
TRANSITIONS: dict[str, set[str]] = {
    Status.APPLIED: {Status.LICENSED},
    Status.LICENSED: {Status.RECTIFYING, Status.SUSPENDED, Status.REVOKED, Status.EXPIRED},
    Status.RECTIFYING: {Status.LICENSED, Status.SUSPENDED, Status.REVOKED},
    Status.SUSPENDED: {Status.LICENSED, Status.RECTIFYING, Status.REVOKED},
    Status.EXPIRED: {Status.LICENSED, Status.REVOKED},
    Status.UNLICENSED: {Status.APPLIED},
    Status.REVOKED: set(),
    Status.CLOSED: set(),
}
for _state in TRANSITIONS:
    if _state != Status.CLOSED:
        TRANSITIONS[_state].add(Status.CLOSED)

REGISTRY_FIELDS = (
    "name",
    "credit_code",
    "licence_number",
    "licence_issued_on",
    "licence_expires_on",
    "category",
    "mode",
    "legal_representative",
    "contact_phone",
    "address",
    "town",
    "latitude",
    "longitude",
    "floor_area_m2",
    "max_students_present",
)


def _require_editor(actor, town_id: int) -> None:
    """Bureau staff and admins of the town; None is the system (scheduled tasks, data loads)."""
    if actor is None:
        return
    if town_id not in scope.town_ids(actor, *EDITOR_ROLES):
        raise PermissionDenied(_("只有该镇街的教育局工作人员可以执行此操作"))


def _clean_registry(data: dict, errors: FieldErrors, *, partial: bool = False) -> dict:
    """Registry fields from input; with partial=True only the keys present are cleaned."""
    out: dict = {}

    def present(name):
        return not partial or name in data

    if present("name"):
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.add("name", _("名称必填（不超过 200 字）"))
        elif disguise_in(name, name=True):
            errors.add("name", _("名称含有不允许的不可见控制字符"))
        out["name"] = name
    if present("credit_code"):
        out["credit_code"] = clean_credit_code(data.get("credit_code"), errors)
    if present("licence_number"):
        out["licence_number"] = clean_licence_number(data.get("licence_number"), errors)
    for field in ("licence_issued_on", "licence_expires_on"):
        if present(field):
            out[field] = changes._date(data, field, errors)
    if present("category"):
        out["category"] = changes._choice(data, "category", Category.choices, errors, default=Category.OTHER)
    if present("mode"):
        out["mode"] = changes._choice(data, "mode", Mode.choices, errors, default=Mode.OFFLINE)
    if present("legal_representative"):
        out["legal_representative"] = changes._text(data, "legal_representative", errors, max_length=50)
    if present("contact_phone"):
        out["contact_phone"] = clean_contact_phone(data.get("contact_phone"), errors)
    if present("address"):
        out["address"] = changes._text(data, "address", errors, max_length=300)
    if present("latitude") or present("longitude"):
        out["latitude"], out["longitude"] = clean_coordinates(data.get("latitude"), data.get("longitude"), errors)
    if present("floor_area_m2"):
        raw = data.get("floor_area_m2")
        out["floor_area_m2"] = None if raw in (None, "") else clean_money(raw, errors, "floor_area_m2")
    if present("max_students_present"):
        out["max_students_present"] = changes._int(data, "max_students_present", errors, minimum=0)
    if present("on_national_platform"):
        out["on_national_platform"] = changes._bool(data, "on_national_platform")
    if present("national_platform_since"):
        out["national_platform_since"] = changes._date(data, "national_platform_since", errors)
    if present("town_id") or present("town"):
        from accounts.models import Region

        town_id = data.get("town_id") or getattr(data.get("town"), "pk", data.get("town"))
        town = Region.objects.filter(pk=town_id, parent__isnull=False).first() if town_id else None
        if town is None:
            errors.add("town_id", _("请选择所在镇街"))
        out["town"] = town
    return out


def _credit_code_taken(code: str | None, exclude_pk: int | None = None) -> bool:
    if not code:
        return False
    return Institution.objects.filter(credit_code=code).exclude(pk=exclude_pk).exists()


def _duplicate_code_error() -> DomainError:
    return DomainError(
        "institution.duplicate_credit_code",
        _("该统一社会信用代码已登记"),
        status=409,
        fields={"credit_code": _("已登记")},
    )


# Statuses that put an institution on the public whitelist: a parent who scans it must see a real licence.
LICENCE_NEEDED = (Status.LICENSED, Status.RECTIFYING)


def _check_licence_held(
    status: str, number: str, issued, expires, errors: FieldErrors, *, check_expiry: bool = True
) -> None:
    """A licensed institution has its licence number and both dates; one that becomes licensed has a licence that
    has not expired (an expiry passing later is the licence watch's work, not a reason to refuse other edits)."""
    if status not in LICENCE_NEEDED:
        return
    if not number:
        errors.add("licence_number", _("已许可的机构须有办学许可证号"))
    if not issued:
        errors.add("licence_issued_on", _("已许可的机构须有发证日期"))
    if not expires:
        errors.add("licence_expires_on", _("已许可的机构须有有效期"))
    elif check_expiry and status == Status.LICENSED and expires < timezone.localdate():
        errors.add("licence_expires_on", _("许可证已过期，请先更新有效期"))


def institution_register(
    *, actor, data: dict, status: str = Status.APPLIED, reason: str = "", found_via: str = "", authorize: bool = True
) -> Institution:
    errors = FieldErrors()
    values = _clean_registry(data, errors)
    if values.get("licence_issued_on") or values.get("licence_expires_on"):
        clean_licence_dates(values.get("licence_issued_on"), values.get("licence_expires_on"), errors)
    if not errors:
        _check_licence_held(
            status,
            values.get("licence_number"),
            values.get("licence_issued_on"),
            values.get("licence_expires_on"),
            errors,
        )
    errors.raise_if_any()
    if authorize:
        _require_editor(actor, values["town"].pk)
    if _credit_code_taken(values.get("credit_code")):
        raise _duplicate_code_error()
    try:
        with transaction.atomic():
            institution = Institution.objects.create(
                **values,
                status=status,
                status_reason=reason[:300],
                status_changed_at=timezone.now(),
                found_via=found_via[:200],
            )
            VerificationToken.objects.create(institution=institution)
            audit_log(
                actor=actor,
                verb="institution.register",
                obj=institution,
                to_state=status,
                data={"reason": reason} if reason else {},
            )
            _schedule_poster(institution)
    except IntegrityError as exc:  # a racing registration of the same code
        raise _duplicate_code_error() from exc
    return institution


def institution_update(*, actor, institution_id: int, data: dict) -> Institution:
    """A bureau edit of registry fields (not the status: see institution_change_status)."""
    errors = FieldErrors()
    values = _clean_registry(data, errors, partial=True)
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        _require_editor(actor, institution.town_id)
        if "town" in values and values["town"] is not None:
            _require_editor(actor, values["town"].pk)
        issued = values.get("licence_issued_on", institution.licence_issued_on)
        expires = values.get("licence_expires_on", institution.licence_expires_on)
        clean_licence_dates(issued, expires, errors)
        if not errors:
            # Only what this edit touches: a stored record missing a date is reported, not a reason to refuse
            # an unrelated edit of its address.
            held = FieldErrors()
            number = values.get("licence_number", institution.licence_number)
            _check_licence_held(
                institution.status, number, issued, expires, held, check_expiry="licence_expires_on" in values
            )
            for field, message in held.fields.items():
                if field in values:
                    errors.add(field, message)
        errors.raise_if_any()
        if "credit_code" in values and _credit_code_taken(values["credit_code"], institution.pk):
            raise _duplicate_code_error()
        before = {k: _plain(getattr(institution, k)) for k in values}
        for key, value in values.items():
            setattr(institution, key, value)
        after = {k: _plain(getattr(institution, k)) for k in values}
        changed = {k: {"from": before[k], "to": after[k]} for k in values if before[k] != after[k]}
        if changed:  # an edit that changes nothing writes nothing: updated_at keeps telling when it last changed
            institution.save(update_fields=[*changed.keys(), "updated_at"])
            audit_log(actor=actor, verb="institution.update", obj=institution, data={"changes": changed})
            _schedule_poster(institution)
    return institution


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def institution_change_status(*, actor, institution_id: int, to_status: str, reason: str) -> Institution:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "institution.reason_required",
            _("请填写变更原因"),
            status=422,
            fields={"reason": _("必填")},
        )
    if to_status not in Status.values:
        raise DomainError(
            "request.invalid",
            _("状态无效"),
            status=422,
            fields={"to_status": _("取值无效")},
        )
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        _require_editor(actor, institution.town_id)
        from_status = institution.status
        if to_status not in TRANSITIONS[from_status]:
            raise DomainError(
                "institution.bad_transition",
                format_lazy(
                    _("不能从“{from_status}”变为“{to_status}”"),
                    from_status=Status(from_status).label,
                    to_status=Status(to_status).label,
                ),
                status=409,
            )
        errors = FieldErrors()
        _check_licence_held(
            to_status,
            institution.licence_number,
            institution.licence_issued_on,
            institution.licence_expires_on,
            errors,
        )
        if errors:
            raise DomainError(
                "institution.licence_incomplete",
                _("许可证信息不完整或已过期，不能列入白名单"),
                status=409,
                fields=errors.fields,
            )

        def changed_meanwhile(institution) -> DomainError:
            return DomainError(
                "institution.changed_meanwhile", _("状态已被他人修改，请刷新"), status=409
            )

        now = timezone.now()
        transition(
            institution, actor=actor, verb="institution.status", allowed_from=from_status, to=to_status,
            fields={"status_reason": reason[:300], "status_changed_at": now, "updated_at": now},
            data={"reason": reason}, error=changed_meanwhile,
        )  # fmt: skip
        notify(
            recipients=scope.users_of_institution(institution.pk),
            kind="institution.status_changed",
            title=format_lazy(_("机构状态变更：{status}"), status=Status(to_status).label),
            body=reason,
            obj=institution,
            payload={"from": from_status, "to": to_status},
        )
        _schedule_poster(institution)
    return institution


def unlicensed_record(*, actor, name: str, address: str, town_id: int, found_via: str) -> Institution:
    """An operator found without a licence (by a complaint, an inspection), so that records can point at it. Anyone
    whose work finds one may record it; the bureau confirms it later."""
    return institution_register(
        actor=actor,
        data={"name": name, "address": address, "town_id": town_id, "category": Category.OTHER},
        status=Status.UNLICENSED,
        reason=found_via,
        found_via=found_via,
        authorize=False,
    )


_bulk_ids: ContextVar[set[int] | None] = ContextVar("institutions_bulk_ids", default=None)


@contextmanager
def bulk_changes():
    """Many institutions changed at once (an import): their posters and risk grades are refreshed by one task after
    commit instead of two tasks per institution."""
    ids: set[int] = set()
    token = _bulk_ids.set(ids)
    try:
        yield
    finally:
        _bulk_ids.reset(token)
    if ids:
        from .bulk import refresh_institutions

        transaction.on_commit(lambda: refresh_institutions.delay(sorted(ids)), robust=True)


def _schedule_poster(institution: Institution) -> None:
    """After commit: the poster shows the new status, and the risk grade follows the new facts."""
    from .public_cache import invalidate
    from .risk import recompute_risk
    from .tasks import build_poster

    invalidate()  # what the public sees may have changed
    bulk = _bulk_ids.get()
    if bulk is not None:
        bulk.add(institution.pk)
        return
    # robust: the change is committed; a poster that cannot be built now (no font, broker down) is logged and
    # rebuilt on demand, it must not turn a saved change into an error answer.
    transaction.on_commit(lambda: build_poster.delay(institution.pk), robust=True)
    transaction.on_commit(lambda: recompute_risk.delay(institution.pk), robust=True)


# --- Escrow --------------------------------------------------------------------------------------------------------


def escrow_save(*, actor, institution_id: int, data: dict) -> EscrowAccount:
    errors = FieldErrors()
    bank = changes._text(data, "bank", errors, required=True, max_length=100, label=_("开户银行"))
    account = changes._text(data, "account_number", errors, required=True, max_length=40, label=_("账号"))
    agreement = changes._text(data, "agreement_number", errors, max_length=60)
    balance = None if data.get("balance") in (None, "") else clean_money(data.get("balance"), errors, "balance")
    reported = changes._date(data, "balance_reported_on", errors)
    errors.raise_if_any()
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        _require_editor(actor, institution.town_id)
        escrow, created = EscrowAccount.objects.update_or_create(
            institution=institution,
            defaults={
                "bank": bank,
                "account_number": account,
                "agreement_number": agreement,
                "balance": balance,
                "balance_reported_on": reported,
            },
        )
        audit_log(
            actor=actor,
            verb="institution.escrow",
            obj=institution,
            data={"bank": bank, "account": escrow.masked_account, "created": created},
        )
        _schedule_poster(institution)  # the risk grade and the public page depend on the escrow too
    return escrow


# --- Courses, packages, slots, staff: bureau edits and institution proposals -----------------------------------------


def _clean_change(institution, kind: str, action: str, target_id, data: dict):
    current, after, before, findings = _prepare_change(institution, kind, action, target_id, data)
    # A change that would break a rule is refused with the findings (R-FEE-*, R-TIME-*, R-STAFF-*, …).
    if findings:
        raise DomainError(
            "institution.rule_broken",
            format_lazy(_("该变更不符合规定：{rules}"), rules=joined(f.text for f in findings)),
            status=422,
            fields={f.field or f.rule_id: f.text for f in findings},
        )
    return current, after, before


def _prepare_change(institution, kind: str, action: str, target_id, data: dict):
    """The change cleaned (field errors raise) and the findings of the rules it would break."""
    spec = changes.SPECS[kind]
    current = None
    if action in (ChangeProposal.Action.UPDATE, ChangeProposal.Action.DELETE):
        current = spec.owned(institution).filter(pk=target_id).first()
        if current is None:
            raise NotFound(_("记录不存在"))
    if action == ChangeProposal.Action.DELETE:
        return current, {}, changes.snapshot(kind, current), []
    errors = FieldErrors()
    if current is not None:
        merged = {**changes.snapshot(kind, current), **data}
        if kind == ChangeProposal.Kind.STAFF and "id_number" not in data:
            merged.pop("id_number", None)
        values = spec.clean(institution, merged, errors, current=current)
    else:
        values = spec.clean(institution, data, errors)
    errors.raise_if_any()
    after = changes.as_json(values)
    before = changes.snapshot(kind, current) if current is not None else {}
    if kind == ChangeProposal.Kind.STAFF and current is not None and "id_number_hash" not in after:
        after["id_number_hash"], after["id_number_last4"] = current.id_number_hash, current.id_number_last4
    return current, after, before, policy.findings_for_change(institution, kind, action, current, after)


def _apply(institution, kind, action, current, after):
    spec = changes.SPECS[kind]
    if action == ChangeProposal.Action.DELETE:
        pk = current.pk
        current.delete()
        return pk
    values = changes.stored_values(kind, institution, after)
    if current is None:
        try:
            with transaction.atomic():
                return spec.model.objects.create(**values).pk
        except IntegrityError as exc:
            raise DomainError(
                "institution.duplicate", _("记录重复（同一人员已登记）"), status=409
            ) from exc
    for key, value in values.items():
        setattr(current, key, value)
    current.save()
    return current.pk


def record_change(*, actor, institution_id: int, kind: str, action: str, target_id=None, data: dict | None = None):
    """A bureau edit of a course, package, slot or staff member: checked like a proposal, applied at once."""
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        _require_editor(actor, institution.town_id)
        current, after, before = _clean_change(institution, kind, action, target_id, data or {})
        object_id = _apply(institution, kind, action, current, after)
        audit_log(
            actor=actor,
            verb=f"institution.{kind}.{action}",
            obj=institution,
            data={"object_id": object_id, "before": _public(before), "after": _public(after)},
        )
        _schedule_poster(institution)
    return object_id


def change_preview(*, actor, institution_id: int, kind: str, action: str, target_id=None, data: dict | None = None):
    """What `record_change` would say, without writing: field errors raise (DomainError request.invalid, as saving
    would); otherwise the findings (policy.Finding: rule id, message, field) of the rules the change would break,
    empty when it may be saved. The page shows them before saving; saving checks again and refuses."""
    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None:
        raise NotFound(_("机构不存在"))
    _require_editor(actor, institution.town_id)
    if kind not in changes.SPECS or action not in ChangeProposal.Action.values:
        raise DomainError("request.invalid", _("变更类型无效"), status=422)
    return _prepare_change(institution, kind, action, target_id, data or {})[3]


def _public(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != "id_number_hash"}


def proposal_submit(
    *, actor, institution_id: int, kind: str, action: str, target_id=None, data: dict | None = None
) -> ChangeProposal:
    from .selectors import institutions_of_staff

    institution = institutions_of_staff(actor).filter(pk=institution_id).first()
    if institution is None:
        raise NotFound(_("机构不存在"))
    if kind not in changes.SPECS or action not in ChangeProposal.Action.values:
        raise DomainError("request.invalid", _("变更类型无效"), status=422)
    with transaction.atomic():
        current, after, before = _clean_change(institution, kind, action, target_id, data or {})
        proposal = ChangeProposal.objects.create(
            institution=institution,
            kind=kind,
            action=action,
            target_id=getattr(current, "pk", None),
            before=before,
            after=after,
            proposed_by=actor,
        )
        audit_log(
            actor=actor,
            verb="proposal.submit",
            obj=proposal,
            to_state=ChangeProposal.State.PENDING,
            data={"institution": institution.pk, "kind": kind, "action": action},
        )
        notify(
            recipients=scope.users_covering_town(institution.town_id, *EDITOR_ROLES),
            kind="proposal.submitted",
            title=format_lazy(_("{name} 提交了变更申请"), name=institution.name),
            body=format_lazy(
                "{} {}", proposal.Action(proposal.action).label, proposal.Kind(proposal.kind).label
            ),
            obj=proposal,
        )
    return proposal


def _not_pending(proposal: ChangeProposal) -> DomainError:
    return DomainError("proposal.not_pending", _("该申请已处理"), status=409)


def proposal_review(*, actor, proposal_id: int, approve: bool, note: str = "") -> ChangeProposal:
    with transaction.atomic():
        proposal = (
            ChangeProposal.objects.select_for_update().select_related("institution").filter(pk=proposal_id).first()
        )
        if proposal is None or proposal.institution.town_id not in scope.town_ids(actor, *EDITOR_ROLES):
            raise NotFound(_("变更申请不存在"))
        if proposal.state != ChangeProposal.State.PENDING:  # before the change is applied; the transition holds it
            raise _not_pending(proposal)
        institution = proposal.institution
        to_state = ChangeProposal.State.APPROVED if approve else ChangeProposal.State.REJECTED
        if approve:
            # Re-checked now: the record or the rules may have changed since it was proposed.
            data = {k: v for k, v in proposal.after.items()}
            current, after, _unused = _clean_change(
                institution, proposal.kind, proposal.action, proposal.target_id, _as_input(proposal.kind, data)
            )
            proposal.applied_object_id = _apply(institution, proposal.kind, proposal.action, current, after)
            _schedule_poster(institution)
        transition(
            proposal, actor=actor, verb="proposal.review", state_field="state",
            allowed_from=ChangeProposal.State.PENDING, to=to_state, error=_not_pending,
            fields={
                "reviewed_by": actor, "reviewed_at": timezone.now(), "review_note": (note or "")[:500],
                "applied_object_id": proposal.applied_object_id,
            },
            data={"note": note, "diff": proposal.diff},
        )  # fmt: skip
        notify(
            recipients=[proposal.proposed_by_id],
            kind="proposal.reviewed",
            title=_("变更申请已通过") if approve else _("变更申请被驳回"),
            body=note,
            obj=proposal,
        )
    return proposal


def _as_input(kind: str, stored: dict) -> dict:
    """A proposal's stored JSON as input to the cleaners again (staff keep their hashed ID, not a raw number)."""
    data = dict(stored)
    if kind == ChangeProposal.Kind.STAFF:
        data["_hashed_id"] = (data.pop("id_number_hash", None), data.pop("id_number_last4", None))
    return data


def token_rotate(*, actor, institution_id: int, reason: str) -> VerificationToken:
    """A new token for an institution (its poster was forged or leaked): the old one is revoked but kept, so a scan
    of an old poster says "not valid". Bureau staff of the institution's town only. The poster is rebuilt after
    commit and the institution's staff are told to print the new one."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "institution.reason_required",
            _("请填写更换原因"),
            status=422,
            fields={"reason": _("必填")},
        )
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise NotFound(_("机构不存在"))
        _require_editor(actor, institution.town_id)
        now = timezone.now()
        old = VerificationToken.objects.select_for_update().filter(institution=institution, revoked_at__isnull=True)
        old_ids = list(old.values_list("pk", flat=True))
        # Conditional on still being live: a concurrent rotation (SQLite has no row locks) revokes nothing twice.
        VerificationToken.objects.filter(pk__in=old_ids, revoked_at__isnull=True).update(revoked_at=now)
        new = VerificationToken.objects.create(institution=institution)
        audit_log(
            actor=actor,
            verb="institution.token_rotate",
            obj=institution,
            data={"reason": reason[:300], "revoked_token_ids": old_ids, "new_token_id": new.pk},
        )
        notify(
            recipients=scope.users_of_institution(institution.pk),
            kind="institution.token_rotated",
            title=_("机构核验二维码已更换，请打印并张贴新海报"),
            body=reason[:300],
            obj=institution,
        )
        _schedule_poster(institution)
    return new
