"""Admission of outside personnel (校外人员准入, R-ASS-2, R-STAFF-2): applications, the prohibited-persons register,
review, suspension and revocation, and what they do to the schedule.

An application moves draft → school_review → (returned ↔ school_review) → bureau_review → admitted → expired, and
an admitted person can be suspended or revoked with a reason from the policy list. Every step is audited and
notifies the applicant and the next reviewer. A register hit (keyed hash of the ID number) blocks admission and
suspends an admitted person at once; name + birth date is only a warning for a reviewer to judge.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Membership, Role
from afterschool.schedule.models import Programme, School, Staff
from core.audit import audit_log
from core.documents import check_document
from core.errors import DomainError, NotFound, PermissionDenied
from core.money import MoneyError, quantize
from core.notifications import notify
from core.pii import id_number_hash, normalize_id_number
from core.policy import policy_decimal, policy_int
from core.transitions import transition
from core.uploads import random_name
from institutions import public_cache

from .enforcement import release_sessions
from .models import ADMISSION_OPEN, Admission, AdmissionDocument, AdmissionReason, OutsidePerson, ProhibitedPerson
from .permissions import is_bureau_reviewer, is_reviewer, is_school_reviewer
from .register import birth_date_of, cell_date, register_match
from .selectors import bureau_reviewer_ids, school_reviewer_ids

S = Admission.Status
REQUIRED_DOCUMENTS = (
    AdmissionDocument.Kind.PHOTO,
    AdmissionDocument.Kind.CRIMINAL_RECORD,
    AdmissionDocument.Kind.HEALTH,
    AdmissionDocument.Kind.CONSENT,
)


def _invalid(code: str, field: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def today() -> date:
    return timezone.localdate()


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _money(raw, field: str) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = quantize(raw)
    except (MoneyError, TypeError):
        value = None
    if value is None or value < 0 or value >= Decimal("1000000"):
        raise _invalid("admission.money_invalid", field, _("金额无效（元，保留两位小数）"))
    return value


# --- Who reviews -----------------------------------------------------------------------------------------------------


def _recipients_of_applicant(admission: Admission) -> set[int]:
    ids = {admission.applicant_id}
    if admission.person.user_id:
        ids.add(admission.person.user_id)
    if admission.institution_id:
        ids |= set(scope.users_of_institution(admission.institution_id))
    return ids


def _person_ids(admission: Admission) -> set[int]:
    """The person's own account: linked when they applied themselves, else the account signed in with the phone
    number given for them (a third party's teacher); none if they have no account."""
    from accounts.models import User

    person = admission.person
    ids = {person.user_id} if person.user_id else set()
    if person.phone:
        ids |= set(User.objects.filter(phone=person.phone, is_active=True).values_list("pk", flat=True))
    return ids


def _notify(admission: Admission, recipients, kind: str, title, body="") -> None:
    notify(
        recipients=recipients,
        kind=f"admission.{kind}",
        title=title,
        body=body,
        obj=admission,
        payload={"admission_id": admission.pk, "status": admission.status},
    )


def _lock(admission: Admission) -> Admission:
    # of=self: the joined school row stays unlocked (scheduling locks it, then this admission: no deadlock).
    return (
        Admission.objects.select_for_update(of=("self",)).select_related("person", "school__town").get(pk=admission.pk)
    )


def _wrong_state(admission: Admission) -> DomainError:
    return DomainError(
        "admission.wrong_state",
        format_lazy(_("当前状态（{status}）不能执行此操作"), status=Admission.Status(admission.status).label),
        status=409,
    )


def _transition(admission: Admission, *, allowed: tuple[str, ...], actor, verb: str, to: str, data=None, **fields):
    """core.transitions with the admission's verbs and refusal; an institution's person entering or leaving
    "admitted" changes the public list of admitted third parties, whose answers are dropped once the move is made."""
    before = admission.status
    moved = transition(
        admission, actor=actor, verb=f"admission.{verb}", allowed_from=allowed, to=to, fields=fields, data=data,
        error=_wrong_state,
    )  # fmt: skip
    if S.ADMITTED in (before, to) and admission.institution_id:
        public_cache.invalidate()
    return moved


# --- Re-checking against the register ---------------------------------------------------------------------------


def admitted_recheck(*, actor=None) -> dict:
    """Every admitted person against the register: one query finds the hits, each hit is suspended at once with its
    sessions freed and the bureau alerted. Applications still in review that now hit are marked (so no reviewer
    can approve them) and the bureau alerted too."""
    hits = list(
        Admission.objects.filter(
            status=S.ADMITTED,
            person__id_hash__in=ProhibitedPerson.objects.values("id_hash"),
        ).values_list("pk", flat=True)
    )
    suspended = 0
    for pk in hits:
        with transaction.atomic():
            admission = _lock(Admission(pk=pk))
            if admission.status != S.ADMITTED:
                continue
            hit, _unused = register_match(
                id_hash=admission.person.id_hash, name=admission.person.name, birth_date=admission.person.birth_date
            )
            admission.register_hits = hit
            admission.save(update_fields=["register_hits"])
            _suspend_or_revoke(
                admission, actor=actor, to=S.SUSPENDED, reason=AdmissionReason.REGISTER_HIT, note="名单复核命中"
            )
            _alert_bureau(admission)
            suspended += 1
    flagged = 0
    in_review = Admission.objects.filter(
        status__in=(S.SCHOOL_REVIEW, S.BUREAU_REVIEW, S.RETURNED),
        person__id_hash__in=ProhibitedPerson.objects.values("id_hash"),
    ).values_list("pk", flat=True)
    for pk in list(in_review):
        with transaction.atomic():
            admission = _lock(Admission(pk=pk))
            if admission.status not in (S.SCHOOL_REVIEW, S.BUREAU_REVIEW, S.RETURNED) or admission.register_hits:
                continue
            person = admission.person
            admission.register_hits, _unused = register_match(
                id_hash=person.id_hash, name=person.name, birth_date=person.birth_date
            )
            admission.save(update_fields=["register_hits"])
            audit_log(
                actor=actor,
                verb="admission.register_hit",
                obj=admission,
                data={"hits": len(admission.register_hits)},
            )
            _alert_bureau(admission)
            flagged += 1
    return {
        "checked": Admission.objects.filter(status=S.ADMITTED).count() + suspended,
        "suspended": suspended,
        "in_review_flagged": flagged,
        "newly_warned": _refresh_register_warnings(actor),
    }


def _refresh_register_warnings(actor) -> int:
    """Name + birth date matches that the register now holds for people admitted or in review: stored on the
    application for the reviewers and the bureau to judge, and the bureau told once per new match. Nobody is
    suspended for a mere likeness. The candidates come from one query (the register's (name, birth_date) index)."""
    alike = ProhibitedPerson.objects.filter(name=OuterRef("person__name"), birth_date=OuterRef("person__birth_date"))
    candidates = Admission.objects.filter(
        Exists(alike), status__in=(S.ADMITTED, S.SCHOOL_REVIEW, S.BUREAU_REVIEW, S.RETURNED)
    ).select_related("person", "school")
    warned = 0
    for admission in candidates:
        person = admission.person
        _unused, warnings = register_match(id_hash=person.id_hash, name=person.name, birth_date=person.birth_date)
        known = {w.get("entry") for w in admission.register_warnings or []}
        new = [w for w in warnings if w["entry"] not in known]
        if not new:
            continue
        Admission.objects.filter(pk=admission.pk).update(register_warnings=warnings)
        audit_log(
            actor=actor, verb="admission.register_warning", obj=admission, data={"entries": [w["entry"] for w in new]}
        )
        _notify(
            admission,
            bureau_reviewer_ids(admission.school),
            "register_warning",
            format_lazy(_("疑似从业禁止人员，请核实：{name}"), name=person.name),
        )
        warned += 1
    return warned


def _alert_bureau(admission: Admission) -> None:
    _notify(
        admission,
        bureau_reviewer_ids(admission.school),
        "register_hit",
        format_lazy(_("从业禁止名单命中：{name}"), name=admission.person.name),
    )


# --- Applications -------------------------------------------------------------------------------------------------


def _clean_qualifications(raw, on: date) -> list[dict]:
    out = []
    for i, q in enumerate(raw or []):
        q = dict(q)
        kind = str(q.get("kind") or "").strip()[:50]
        number = str(q.get("number") or "").strip()[:50]
        issuer = str(q.get("issuer") or "").strip()[:100]
        expires = cell_date(q.get("expires_on")) if q.get("expires_on") else None
        if not kind or not number or not issuer:
            raise _invalid(
                "admission.qualification_incomplete",
                f"qualifications.{i}",
                _("资质须填写类型、证书编号和发证机关"),
            )
        if expires is not None and expires < on:
            raise _invalid(
                "admission.qualification_expired",
                f"qualifications.{i}",
                format_lazy(_("资质证书“{kind}”已于 {expires} 过期"), kind=kind, expires=expires),
            )
        out.append({"kind": kind, "number": number, "issuer": issuer, "expires_on": str(expires) if expires else None})
    return out


def _check_certificates(*, record_issued_on, health_issued_on, on: date) -> None:
    months = policy_int("criminal_record_max_age_months", on)
    if record_issued_on is not None:
        if record_issued_on > on:
            raise _invalid(
                "admission.record_in_future", "record_issued_on", _("证明日期不能晚于今天")
            )
        if record_issued_on < _months_before(on, months):
            raise _invalid(
                "admission.record_too_old",
                "record_issued_on",
                format_lazy(_("无犯罪记录证明须为近 {months} 个月内出具"), months=months),
            )
    if health_issued_on is not None and health_issued_on > on:
        raise _invalid(
            "admission.health_in_future", "health_issued_on", _("证明日期不能晚于今天")
        )


def _check_fee(fee: Decimal | None, market: Decimal | None, on: date) -> None:
    if fee is None or market is None:
        raise _invalid(
            "admission.fee_required",
            "fee_per_lesson",
            _("第三方机构须填写每次课收费和市场价"),
        )
    share = policy_decimal("third_party_fee_max_share_of_market", on)
    if market <= 0 or fee > quantize(market * share):
        raise _invalid(
            "admission.fee_not_below_market",
            "fee_per_lesson",
            format_lazy(_("收费须明显低于市场价（不超过市场价的 {value:.0f}%）"), value=share * 100),
        )


def _refuse_in_service_elsewhere(person: OutsidePerson, school: School) -> None:
    """In-service teachers of another school cannot be admitted as paid outside personnel."""
    if _in_service_elsewhere(person, school):
        raise _invalid(
            "admission.in_service_teacher",
            "id_number",
            _("在职中小学教师不能作为有偿校外人员"),
            status=409,
        )


def _in_service_elsewhere(person: OutsidePerson, school: School) -> bool:
    """A teacher of another school (by account or phone), or a registry staff row flagged in-service."""
    from institutions.models import StaffMember

    users = Q(user__phone=person.phone) if person.phone else Q(pk__in=[])
    if person.user_id:
        users |= Q(user_id=person.user_id)
    teachers = Membership.objects.active().filter(users, role=Role.TEACHER)
    teaches_elsewhere = teachers.exclude(school_id=school.pk).exists()
    return (
        teaches_elsewhere or StaffMember.objects.filter(id_number_hash=person.id_hash, in_service_teacher=True).exists()
    )


def _person_for(*, name: str, id_number: str, phone: str, user) -> OutsidePerson:
    number = normalize_id_number(id_number)
    if number is None:
        raise _invalid(
            "admission.id_number_invalid",
            "id_number",
            _("身份证号无效（请检查校验位）"),
        )
    digest = id_number_hash(number)
    person = OutsidePerson.objects.filter(id_hash=digest).first()
    if person is None:
        try:
            with transaction.atomic():
                person = OutsidePerson.objects.create(
                    name=name,
                    id_hash=digest,
                    id_last4=number[-4:],
                    birth_date=birth_date_of(number),
                    phone=phone,
                    user=user,
                )
        except IntegrityError:  # the same person applied at the same moment elsewhere
            person = OutsidePerson.objects.get(id_hash=digest)
    elif person.name != name:
        raise _invalid(
            "admission.name_mismatch", "name", _("姓名与已登记的身份证号不符")
        )
    return person


@transaction.atomic
def admission_create(
    *,
    actor,
    school_id: int,
    name: str,
    id_number: str,
    phone: str = "",
    institution_id: int | None = None,
    programme_ids: list[int] = (),
    paid: bool = True,
    qualifications: list[dict] = (),
    record_issuer: str = "",
    record_issued_on: date | None = None,
    health_issuer: str = "",
    health_issued_on: date | None = None,
    consent_signed: bool = False,
    fee_per_lesson=None,
    market_price=None,
    renewal_of: Admission | None = None,
) -> Admission:
    """A draft application; documents are added next, then it is submitted."""
    on = today()
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise _invalid("admission.name_required", "name", _("请填写姓名（不超过 50 字）"))
    school = School.objects.select_related("town").filter(pk=school_id).first()
    if school is None:
        raise _invalid("admission.school_unknown", "school_id", _("学校不存在"))
    institution = None
    if institution_id is not None:
        from institutions.models import Institution, Status

        if institution_id not in scope.institution_ids(actor):
            raise _invalid(
                "admission.institution_not_yours",
                "institution_id",
                _("您不是该机构的工作人员"),
                status=403,
            )
        institution = Institution.objects.get(pk=institution_id)
        if institution.current_status != Status.LICENSED or not institution.on_national_platform:
            raise _invalid(
                "admission.institution_not_eligible",
                "institution_id",
                _("第三方机构须持有办学许可并已纳入全国监管平台"),
                status=409,
            )
    programmes = list(Programme.objects.filter(school=school, pk__in=set(programme_ids)))
    if len(programmes) != len(set(programme_ids)):
        raise _invalid("admission.programme_unknown", "programme_ids", _("本校没有该项目"))
    quals = _clean_qualifications(qualifications, on)
    _check_certificates(record_issued_on=record_issued_on, health_issued_on=health_issued_on, on=on)
    fee, market = _money(fee_per_lesson, "fee_per_lesson"), _money(market_price, "market_price")
    if institution is not None:
        _check_fee(fee, market, on)
    person = _person_for(name=name, id_number=id_number, phone=phone, user=None if institution else actor)
    if paid:
        _refuse_in_service_elsewhere(person, school)
    if Admission.objects.filter(person=person, school=school, status__in=ADMISSION_OPEN).exists():
        raise _invalid(
            "admission.duplicate_open",
            "id_number",
            _("此人在该校已有未完成的申请"),
            status=409,
        )
    try:
        with transaction.atomic():
            admission = Admission.objects.create(
                person=person,
                institution=institution,
                applicant=actor,
                school=school,
                paid=paid,
                qualifications=quals,
                record_issuer=record_issuer[:100],
                record_issued_on=record_issued_on,
                health_issuer=health_issuer[:100],
                health_issued_on=health_issued_on,
                consent_signed=consent_signed,
                fee_per_lesson=fee,
                market_price=market,
                renewal_of=renewal_of,
            )
    except IntegrityError:  # a concurrent twin won the partial unique index
        raise _invalid(
            "admission.duplicate_open",
            "id_number",
            _("此人在该校已有未完成的申请"),
            status=409,
        ) from None
    admission.programmes.set(programmes)
    audit_log(
        actor=actor,
        verb="admission.created",
        obj=admission,
        to_state=S.DRAFT,
        data={"school": school.pk, "institution": institution_id, "renewal_of": getattr(renewal_of, "pk", None)},
    )
    return admission


@transaction.atomic
def admission_renew(*, actor, admission: Admission) -> Admission:
    """A draft pre-filled from the last application (certificates dated anew and documents uploaded again)."""
    if admission.status not in (S.ADMITTED, S.EXPIRED):
        raise DomainError(
            "admission.not_renewable",
            _("只有已准入或已过期的可以续期"),
            status=409,
        )
    if admission.applicant_id != actor.pk and admission.institution_id not in scope.institution_ids(actor):
        raise PermissionDenied()
    draft = (
        Admission.objects.create(
            person=admission.person,
            institution=admission.institution,
            applicant=actor,
            school=admission.school,
            paid=admission.paid,
            qualifications=admission.qualifications,
            record_issuer=admission.record_issuer,
            health_issuer=admission.health_issuer,
            consent_signed=False,
            fee_per_lesson=admission.fee_per_lesson,
            market_price=admission.market_price,
            renewal_of=admission,
        )
        if not Admission.objects.filter(
            person=admission.person, school=admission.school, status__in=ADMISSION_OPEN
        ).exists()
        else None
    )
    if draft is None:
        raise DomainError(
            "admission.duplicate_open",
            _("此人在该校已有未完成的申请"),
            status=409,
        )
    draft.programmes.set(admission.programmes.all())
    audit_log(actor=actor, verb="admission.renewal_started", obj=draft, to_state=S.DRAFT, data={"from": admission.pk})
    return draft


def _require_applicant(actor, admission: Admission) -> None:
    if admission.applicant_id != actor.pk and admission.institution_id not in scope.institution_ids(actor):
        raise PermissionDenied(_("只有申请人可以修改申请"))


UPDATABLE = (
    "programme_ids",
    "paid",
    "qualifications",
    "record_issuer",
    "record_issued_on",
    "health_issuer",
    "health_issued_on",
    "consent_signed",
    "fee_per_lesson",
    "market_price",
)


@transaction.atomic
def admission_update(*, actor, admission: Admission, **changes) -> Admission:
    """The applicant completes a draft or a returned application (a renewal's new certificate dates, what the
    reviewer asked for), checked as at creation; the person, the school and the institution stay as they are."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    admission = _lock(admission)
    _require_applicant(actor, admission)
    if admission.status not in (S.DRAFT, S.RETURNED):
        raise DomainError(
            "admission.wrong_state",
            _("已提交的申请不能修改"),
            status=409,
        )
    on = today()
    fields = []
    if "programme_ids" in changes:
        ids = set(changes.pop("programme_ids") or [])
        programmes = list(Programme.objects.filter(school_id=admission.school_id, pk__in=ids))
        if len(programmes) != len(ids):
            raise _invalid("admission.programme_unknown", "programme_ids", _("本校没有该项目"))
        admission.programmes.set(programmes)
        changed_programmes = ["programmes"]
    else:
        changed_programmes = []
    if "qualifications" in changes:
        changes["qualifications"] = _clean_qualifications(changes["qualifications"], on)
    for key in ("record_issuer", "health_issuer"):
        if key in changes:
            changes[key] = (changes[key] or "").strip()[:100]
    for key in ("fee_per_lesson", "market_price"):
        if key in changes:
            changes[key] = _money(changes[key], key)
    for key, value in changes.items():
        setattr(admission, key, value)
        fields.append(key)
    _check_certificates(record_issued_on=admission.record_issued_on, health_issued_on=admission.health_issued_on, on=on)
    if admission.institution_id:
        _check_fee(admission.fee_per_lesson, admission.market_price, on)
    if admission.paid and "paid" in changes:
        _refuse_in_service_elsewhere(admission.person, admission.school)
    if fields:
        admission.save(update_fields=fields)
    audit_log(
        actor=actor,
        verb="admission.updated",
        obj=admission,
        data={"fields": sorted([*fields, *changed_programmes])},
    )
    return admission


@transaction.atomic
def document_add(*, actor, admission: Admission, kind: str, upload) -> AdmissionDocument:
    admission = _lock(admission)
    _require_applicant(actor, admission)
    if admission.status not in (S.DRAFT, S.RETURNED):
        raise DomainError(
            "admission.wrong_state", _("已提交的申请不能添加材料"), status=409
        )
    if kind not in AdmissionDocument.Kind.values:
        raise _invalid("admission.document_kind_unknown", "kind", _("材料类型无效"))
    checked = check_document(upload)
    doc = AdmissionDocument(
        admission=admission, kind=kind, content_type=checked.content_type, size=len(checked.content)
    )
    doc.file.save(random_name("." + checked.extension), ContentFile(checked.content), save=False)
    doc.save()
    audit_log(actor=actor, verb="admission.document_added", obj=admission, data={"document": doc.pk, "kind": kind})
    return doc


def document_open(*, actor, admission: Admission, document_id: int) -> AdmissionDocument:
    """A document for a reviewer of this application only; each view is logged."""
    if not is_reviewer(actor, admission):
        raise NotFound(_("材料不存在"))
    doc = AdmissionDocument.objects.filter(admission=admission, pk=document_id).first()
    if doc is None:
        raise NotFound(_("材料不存在"))
    audit_log(actor=actor, verb="admission.document_viewed", obj=admission, data={"document": doc.pk, "kind": doc.kind})
    return doc


@transaction.atomic
def admission_submit(*, actor, admission: Admission) -> Admission:
    admission = _lock(admission)
    _require_applicant(actor, admission)
    on = today()
    kinds = list(admission.documents.values_list("kind", flat=True))
    missing = [k for k in REQUIRED_DOCUMENTS if k not in kinds]
    if kinds.count(AdmissionDocument.Kind.QUALIFICATION) < len(admission.qualifications or []):
        missing.append(AdmissionDocument.Kind.QUALIFICATION)  # a scan for each qualification declared
    if missing:
        labels = "、".join(str(AdmissionDocument.Kind(k).label) for k in missing)
        raise _invalid(
            "admission.documents_missing",
            "documents",
            format_lazy(_("缺少材料：{labels}"), labels=labels),
        )
    if not admission.consent_signed:
        raise _invalid(
            "admission.consent_required", "consent_signed", _("须签署背景审查同意书")
        )
    if admission.record_issued_on is None or not admission.record_issuer:
        raise _invalid(
            "admission.record_required",
            "record_issued_on",
            _("请填写无犯罪记录证明"),
        )
    _check_certificates(record_issued_on=admission.record_issued_on, health_issued_on=admission.health_issued_on, on=on)
    _clean_qualifications(admission.qualifications, on)
    person = admission.person
    hits, warnings = register_match(id_hash=person.id_hash, name=person.name, birth_date=person.birth_date)
    _transition(
        admission,
        allowed=(S.DRAFT, S.RETURNED),
        actor=actor,
        verb="submitted",
        to=S.SCHOOL_REVIEW,
        data={"register_hits": len(hits), "register_warnings": len(warnings)},
        register_hits=hits,
        register_warnings=warnings,
        submitted_at=timezone.now(),
        message="",
    )
    _notify(admission, _recipients_of_applicant(admission), "submitted", _("准入申请已提交"))
    _notify(
        admission,
        school_reviewer_ids(admission.school),
        "school_review",
        format_lazy(_("待审核：{name} 的校外人员准入申请"), name=person.name),
    )
    if hits:
        _alert_bureau(admission)
    return admission


def _blocked_by_register(admission: Admission) -> None:
    if admission.register_hits:
        raise DomainError(
            "admission.register_hit",
            _("此人在从业禁止名单上，不能准入"),
            status=409,
        )


@transaction.atomic
def admission_school_review(*, actor, admission: Admission, approve: bool, message: str = "") -> Admission:
    admission = _lock(admission)
    if not is_school_reviewer(actor, admission):
        raise PermissionDenied(_("只有本校管理员可以审核"))
    message = (message or "").strip()[:500]
    if approve:
        _blocked_by_register(admission)
        _transition(
            admission,
            allowed=(S.SCHOOL_REVIEW,),
            actor=actor,
            verb="school_approved",
            to=S.BUREAU_REVIEW,
            message=message,
        )
        _notify(
            admission,
            _recipients_of_applicant(admission),
            "school_approved",
            _("学校审核通过，待教育局审核"),
        )
        _notify(
            admission,
            bureau_reviewer_ids(admission.school),
            "bureau_review",
            format_lazy(_("待审核：{name} 的校外人员准入申请"), name=admission.person.name),
        )
    else:
        if not message:
            raise _invalid(
                "admission.message_required", "message", _("退回须说明需补充的内容")
            )
        _transition(
            admission,
            allowed=(S.SCHOOL_REVIEW,),
            actor=actor,
            verb="returned",
            to=S.RETURNED,
            data={"message": message},
            message=message,
        )
        _notify(admission, _recipients_of_applicant(admission), "returned", _("准入申请被退回补充"), message)
    return admission


@transaction.atomic
def admission_bureau_review(*, actor, admission: Admission, approve: bool, message: str = "") -> Admission:
    admission = _lock(admission)
    if not is_bureau_reviewer(actor, admission):
        raise PermissionDenied(_("只有教育局可以审核"))
    message = (message or "").strip()[:500]
    if approve:
        person = admission.person
        hits, warnings = register_match(id_hash=person.id_hash, name=person.name, birth_date=person.birth_date)
        if hits:
            admission.register_hits = hits
            admission.save(update_fields=["register_hits"])
        _blocked_by_register(admission)
        on = today()
        days = policy_int("outside_admission_validity_days", on)
        _transition(
            admission,
            allowed=(S.BUREAU_REVIEW,),
            actor=actor,
            verb="admitted",
            to=S.ADMITTED,
            data={"valid_until": str(on + timedelta(days=days - 1))},
            message=message,
            valid_from=on,
            valid_until=on + timedelta(days=days - 1),
            decided_at=timezone.now(),
            register_warnings=warnings,
        )
        Staff.objects.get_or_create(
            school=admission.school,
            outside_person=person,
            defaults={"kind": Staff.StaffKind.OUTSIDE, "name": person.name, "user": None},
        )
        _notify(
            admission,
            _recipients_of_applicant(admission) | school_reviewer_ids(admission.school),
            "admitted",
            format_lazy(
                _("{name} 已准入（有效期至 {valid_until}）"), name=person.name, valid_until=admission.valid_until
            ),
        )
    else:
        if not message:
            raise _invalid(
                "admission.message_required", "message", _("退回须说明需补充的内容")
            )
        _transition(
            admission,
            allowed=(S.BUREAU_REVIEW,),
            actor=actor,
            verb="returned",
            to=S.RETURNED,
            data={"message": message, "by": "bureau"},
            message=message,
        )
        _notify(
            admission,
            _recipients_of_applicant(admission) | school_reviewer_ids(admission.school),
            "returned",
            _("准入申请被教育局退回补充"),
            message,
        )
    return admission


# --- Suspension, revocation and the schedule -------------------------------------------------------------------------


def _suspend_or_revoke(admission: Admission, *, actor, to: str, reason: str, note: str) -> Admission:
    allowed = (S.ADMITTED,) if to == S.SUSPENDED else (S.ADMITTED, S.SUSPENDED)
    _transition(
        admission,
        allowed=allowed,
        actor=actor,
        verb=to,
        to=to,
        data={"reason": reason, "note": note[:200]},
        reason=reason,
        message=note[:500],
        decided_at=timezone.now(),
    )
    freed = release_sessions(admission)
    if freed:
        audit_log(actor=actor, verb="admission.sessions_released", obj=admission, data={"sessions": freed})
    label = AdmissionReason(reason).label
    _notify(
        admission,
        _recipients_of_applicant(admission),
        to,
        f"准入已{'暂停' if to == S.SUSPENDED else '撤销'}：{label}",
        note,
    )
    _notify(
        admission,
        school_reviewer_ids(admission.school),
        "needs_staff",
        format_lazy(_("{name} 已停止授课，{n} 个课时待安排授课人员"), name=admission.person.name, n=len(freed)),
    )
    return admission


def _clean_reason(reason: str) -> str:
    if reason not in AdmissionReason.values:
        raise _invalid("admission.reason_unknown", "reason", _("请从政策列表中选择原因"))
    return reason


@transaction.atomic
def admission_suspend(*, actor, admission: Admission, reason: str, note: str = "") -> Admission:
    reason = _clean_reason(reason)
    admission = _lock(admission)
    if not is_bureau_reviewer(actor, admission):
        raise PermissionDenied(_("只有教育局可以暂停准入"))
    return _suspend_or_revoke(admission, actor=actor, to=S.SUSPENDED, reason=reason, note=note or "")


@transaction.atomic
def admission_revoke(*, actor, admission: Admission, reason: str, note: str = "") -> Admission:
    reason = _clean_reason(reason)
    admission = _lock(admission)
    if not is_bureau_reviewer(actor, admission):
        raise PermissionDenied(_("只有教育局可以撤销准入"))
    return _suspend_or_revoke(admission, actor=actor, to=S.REVOKED, reason=reason, note=note or "")


@transaction.atomic
def admission_reinstate(*, actor, admission: Admission, note: str = "") -> Admission:
    """The bureau lifts a suspension (not a revocation). A person still on the register stays suspended; the
    sessions freed by the suspension are not given back: the school schedules the person again."""
    admission = _lock(admission)
    if not is_bureau_reviewer(actor, admission):
        raise PermissionDenied(_("只有教育局可以恢复准入"))
    person = admission.person
    hits, _unused = register_match(id_hash=person.id_hash, name=person.name, birth_date=person.birth_date)
    if hits:
        raise DomainError(
            "admission.register_hit",
            _("此人在从业禁止名单上，不能恢复准入"),
            status=409,
        )
    if admission.status == S.SUSPENDED and admission.valid_until < today():
        raise DomainError(
            "admission.lapsed", _("准入有效期已过，请重新申请"), status=409
        )
    _transition(
        admission,
        allowed=(S.SUSPENDED,),
        actor=actor,
        verb="reinstated",
        to=S.ADMITTED,
        data={"note": note[:200]},
        reason="",
        message=note[:500],
        register_hits=[],
    )
    _notify(
        admission,
        _recipients_of_applicant(admission) | school_reviewer_ids(admission.school),
        "reinstated",
        format_lazy(_("{name} 的准入已恢复"), name=person.name),
    )
    return admission


# --- Time-driven: expiry and reminders ----------------------------------------------------------------------------


def admissions_expire(on: date | None = None) -> int:
    on = on or today()
    n = 0
    for pk in Admission.objects.filter(status=S.ADMITTED, valid_until__lt=on).values_list("pk", flat=True):
        with transaction.atomic():
            a = _lock(Admission(pk=pk))
            if a.status == S.ADMITTED and a.valid_until < on:
                _transition(a, allowed=(S.ADMITTED,), actor=None, verb="expired", to=S.EXPIRED)
                _notify(
                    a,
                    _recipients_of_applicant(a) | _person_ids(a) | school_reviewer_ids(a.school),
                    "expired",
                    format_lazy(_("{name} 的准入已过期"), name=a.person.name),
                )
                # Lapsed mid-term: off the school's future sessions (unless a renewal holds from today), and the
                # school is told how many now need someone (R-ASS-2).
                renewed = Admission.objects.filter(
                    person_id=a.person_id, school_id=a.school_id, status=S.ADMITTED, valid_from__lte=on,
                    valid_until__gte=on,
                ).exclude(pk=a.pk).exists()  # fmt: skip
                freed = [] if renewed else release_sessions(a)
                if freed:
                    audit_log(actor=None, verb="admission.sessions_released", obj=a, data={"sessions": freed})
                    _notify(
                        a,
                        school_reviewer_ids(a.school),
                        "needs_staff",
                        format_lazy(
                            _("{name} 的准入已过期，已停止授课，{n} 个课时待安排授课人员"),
                            name=a.person.name,
                            n=len(freed),
                        ),
                    )
                n += 1
    return n


def admission_reminders(on: date | None = None) -> int:
    """30 and 7 days before expiry: the person (their own account, if any), the applicant, the third party's staff and
    the school's admins (once each, by dedupe key)."""
    on = on or today()
    sent = 0
    for key in ("admission_expiry_reminder_days_first", "admission_expiry_reminder_days_last"):
        days = policy_int(key, on)
        rows = Admission.objects.filter(status=S.ADMITTED, valid_until=on + timedelta(days=days)).select_related(
            "person", "school__town"
        )
        for a in rows:
            recipients = _recipients_of_applicant(a) | _person_ids(a) | school_reviewer_ids(a.school)
            with transaction.atomic():
                sent += len(
                    notify(
                        recipients=recipients,
                        kind="admission.expiring",
                        title=format_lazy(
                            _("{name} 的准入将于 {valid_until} 到期（{days} 天后），请及时续期"),
                            name=a.person.name,
                            valid_until=a.valid_until,
                            days=days,
                        ),
                        obj=a,
                        payload={"admission_id": a.pk, "days": days},
                        dedupe_key=f"admission-expiry-{a.pk}-{days}",
                    )
                )
    return sent
