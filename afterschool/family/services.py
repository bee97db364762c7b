"""Parents and their children: the class list's guardian phones, a parent's request to follow a child (confirmed by
the class list's phone at once, or by the school), and what a child may apply for."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from afterschool.schedule.models import School, SchoolClass, Student
from afterschool.schedule.selectors import school_names
from core.audit import audit_log
from core.errors import DomainError, NotFound
from core.idempotency import clean_key, fingerprint, key_reused_error, run_once
from core.notifications import notify
from core.transitions import transition

from .models import ChildLinkRequest, GuardianPhone

PHONE = re.compile(r"^1[3-9]\d{9}$")
R = ChildLinkRequest.Status


def _invalid(code: str, field: str, message) -> DomainError:
    return DomainError(code, message, status=422, fields={field: message})


def guardian_phones_set(*, actor, student: Student, phones: list[str]) -> list[GuardianPhone]:
    """The class list's guardian phones of a student (added; a malformed phone refuses them all). For the class-list
    import and the demo; a parent whose account has one of these phones links the child at once."""
    clean = []
    for phone in phones:
        phone = (phone or "").strip().replace(" ", "").replace("-", "")
        if not PHONE.match(phone):
            raise _invalid("student.bad_phone", "guardian_phones", format_lazy(_("手机号“{phone}”格式不正确"),
                                                                              phone=phone))  # fmt: skip
        clean.append(phone)
    rows = []
    for phone in dict.fromkeys(clean):
        row, created = GuardianPhone.objects.get_or_create(student=student, phone=phone)
        rows.append(row)
        if created:
            audit_log(actor=actor, verb="afterschool.guardian_phone_added", obj=student, data={"phone": phone[-4:]})
    return rows


def _school_admin_ids(school_id: int) -> list[int]:
    from accounts.models import Membership

    return list(
        Membership.objects.filter(role=Role.SCHOOL_ADMIN, school_id=school_id, is_active=True).values_list(
            "user_id", flat=True
        )
    )


def _link(student: Student, parent, *, actor, how: str, request: ChildLinkRequest | None) -> None:
    student.guardians.add(parent)
    audit_log(
        actor=actor,
        verb="afterschool.child_linked",
        obj=student,
        to_state="linked",
        data={"parent": parent.pk, "how": how, "request": request.pk if request else None},
    )


@transaction.atomic
def child_link_request(
    *,
    actor,
    school_id: int,
    grade: int,
    class_number: int,
    child_name: str,
    relation: str = "",
    idempotency_key: str = "",
) -> ChildLinkRequest:
    """A parent names their child (school, class, name). When the class list holds the parent's phone for that child
    the link holds at once; otherwise the school is asked to confirm. The answer is the same whether or not a child
    of that name exists, so names cannot be probed. With an `idempotency_key` (a phone's retry) the same key answers
    the first request and creates nothing new; the same key for another child is refused (409)."""
    if not getattr(actor, "pk", None):
        raise NotFound(_("学校不存在"))
    if not idempotency_key:
        return _child_link_request(actor, school_id, grade, class_number, child_name, relation, "", "")
    key = clean_key(idempotency_key)
    request_hash = fingerprint(school_id, grade, class_number, (child_name or "").strip(), (relation or "")[:20])
    req, _created = run_once(
        key=key,
        request_hash=request_hash,
        find=lambda: ChildLinkRequest.objects.filter(parent=actor, idempotency_key=key).first(),
        create=lambda: _child_link_request(
            actor, school_id, grade, class_number, child_name, relation, key, request_hash
        ),  # fmt: skip
        stored_hash=lambda r: r.request_hash,
    )
    return req


def _replayed(actor, key: str, request_hash: str) -> ChildLinkRequest | None:
    """The request this key made, when the same key won a moment ago in another transaction (a phone resending at
    once): the duplicate the checks found is that request, not a second one; the same key for another child: 409."""
    if not key:
        return None
    existing = ChildLinkRequest.objects.filter(parent=actor, idempotency_key=key).first()
    if existing is not None and existing.request_hash != request_hash:
        raise key_reused_error()
    return existing


def _child_link_request(actor, school_id, grade, class_number, child_name, relation, key, request_hash):
    school = School.objects.filter(pk=school_id).first()
    if school is None:
        raise _invalid("family.school_unknown", "school_id", _("请选择孩子就读的学校"))
    child_name = (child_name or "").strip()
    if not child_name:
        raise _invalid("family.name_required", "child_name", _("请填写孩子姓名"))
    if len(child_name) > 50:
        raise _invalid("family.name_too_long", "child_name", _("姓名过长"))
    klass = SchoolClass.objects.filter(school=school, grade=grade, number=class_number).first()
    if klass is None:
        raise _invalid(
            "family.class_unknown",
            "class_number",
            format_lazy(_("{school}没有{grade}年级{number}班"), school=school.name, grade=grade, number=class_number),
        )
    students = list(Student.objects.filter(school_class=klass, name=child_name, is_active=True))
    if any(s.guardians.filter(pk=actor.pk).exists() for s in students):
        if replayed := _replayed(actor, key, request_hash):
            return replayed
        raise DomainError("family.already_linked", _("您已关联这个孩子"), status=409)
    phone = getattr(actor, "phone", "") or ""
    matched = [s for s in students if phone and s.guardian_phones.filter(phone=phone).exists()]
    student = matched[0] if len(matched) == 1 else (students[0] if len(students) == 1 else None)
    if len(matched) == 1:
        req = ChildLinkRequest.objects.create(
            parent=actor, school=school, school_class=klass, child_name=child_name, relation=(relation or "")[:20],
            student=student, status=R.CONFIRMED, confirmed_how=ChildLinkRequest.How.CLASS_LIST,
            decided_at=timezone.now(), idempotency_key=key, request_hash=request_hash,
        )  # fmt: skip
        _link(student, actor, actor=actor, how="class_list", request=req)
        return req
    if ChildLinkRequest.objects.filter(parent=actor, school=school, child_name=child_name, status=R.REQUESTED).exists():
        if replayed := _replayed(actor, key, request_hash):
            return replayed
        raise DomainError(
            "family.request_pending",
            _("您已提交过该孩子的关联申请，请等待学校确认"),
            status=409,
        )
    try:
        with transaction.atomic():
            req = ChildLinkRequest.objects.create(
                parent=actor, school=school, school_class=klass, child_name=child_name,
                relation=(relation or "")[:20], student=student, idempotency_key=key, request_hash=request_hash,
            )  # fmt: skip
    except IntegrityError:
        if replayed := _replayed(actor, key, request_hash):
            return replayed
        raise DomainError(
            "family.request_pending",
            _("您已提交过该孩子的关联申请，请等待学校确认"),
            status=409,
        ) from None
    audit_log(actor=actor, verb="afterschool.child_link_requested", obj=req, to_state=R.REQUESTED,
              data={"school": school.pk, "class": klass.pk})  # fmt: skip
    notify(
        recipients=_school_admin_ids(school.pk),
        kind="afterschool.child_link_requested",
        title=_("有家长申请关联孩子"),
        body=format_lazy(
            _("{klass} {name}：名单中没有该家长的手机号，请核实后确认。"), klass=klass.label, name=child_name
        ),
        obj=req,
    )
    return req


def link_requests_for_admin(user):
    """Requests to the schools the user administers, open ones first."""
    return ChildLinkRequest.objects.filter(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))


def link_request_candidates(requests) -> dict[int, list[Student]]:
    """{class id: the class's active students by name} for the open requests among `requests`: who the school may
    name when it confirms (one query for a whole page)."""
    class_ids = {r.school_class_id for r in requests if r.status == R.REQUESTED and r.school_class_id}
    out: dict[int, list[Student]] = {}
    if class_ids:
        for s in Student.objects.filter(school_class_id__in=class_ids, is_active=True).order_by("name", "id"):
            out.setdefault(s.school_class_id, []).append(s)
    return out


def link_requests_of_parent(user):
    """A parent's own requests, newest first."""
    return ChildLinkRequest.objects.filter(parent=user).select_related("school", "school_class", "student")


def access_link_request_for_admin(user, request_id) -> ChildLinkRequest:
    req = (
        link_requests_for_admin(user)
        .select_related("parent", "school", "school_class", "student")
        .filter(pk=request_id)
        .first()
    )
    if req is None:
        raise NotFound(_("关联申请不存在"))
    return req


def _same_decision(req: ChildLinkRequest, approve: bool, student_id: int | None) -> bool:
    if approve:
        return (
            req.status == R.CONFIRMED
            and req.confirmed_how == ChildLinkRequest.How.SCHOOL
            and (not student_id or student_id == req.student_id)
        )
    return req.status == R.REJECTED


@transaction.atomic
def child_link_decide(
    *, actor, request_id: int, approve: bool, student_id: int | None = None, note: str = ""
) -> ChildLinkRequest:
    """The school confirms (naming the child on its list) or declines a parent's request; the parent is told."""
    req = access_link_request_for_admin(actor, request_id)
    req = ChildLinkRequest.objects.select_for_update(of=("self",)).select_related("parent").get(pk=req.pk)
    if _same_decision(req, approve, student_id):  # a retry (a phone resending, a form sent twice): nothing new
        return req
    student = None
    if approve:
        student_id = student_id or req.student_id
        student = Student.objects.filter(pk=student_id, school_id=req.school_id, is_active=True).first()
        if student is None:
            raise _invalid("family.student_required", "student_id", _("请选择名单中的学生"))
    transition(
        req, actor=actor, verb="afterschool.child_link_decided", allowed_from=R.REQUESTED,
        to=R.CONFIRMED if approve else R.REJECTED,
        fields={"decided_by": actor, "decided_at": timezone.now(), "note": (note or "")[:200],
                "student": student or req.student,
                "confirmed_how": ChildLinkRequest.How.SCHOOL if approve else ""},
        error=lambda r: DomainError("family.request_decided", _("该申请已处理"), status=409),
    )  # fmt: skip
    if approve:
        _link(student, req.parent, actor=actor, how="school", request=req)
        if req.parent.phone:
            GuardianPhone.objects.get_or_create(student=student, phone=req.parent.phone)
    school = school_names([req.school_id]).get(req.school_id, "")
    notify(
        recipients=[req.parent_id],
        kind="afterschool.child_link_decided",
        title=format_lazy(_("{school}已确认您与{name}的关联"), school=school, name=req.child_name)
        if approve
        else format_lazy(_("{school}未能确认您与{name}的关联"), school=school, name=req.child_name),
        body=(note or "")[:200],
        obj=req,
    )
    return req
