"""The bureau console's institution pages (see console/apps.py): one page per institution with its whole history, and
what bureau staff do from it: edit (through the registry's change services, the rules a change would break shown
before saving), change the status with a reason, download the poster, see and rotate the verification link, open an
ad-hoc inspection. Bureau staff and admins of the institution's town only; anyone else gets the same 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import scope
from accounts import services as accounts_services
from accounts.models import Role
from accounts.phones import mask_phone
from core.errors import DomainError, NotFound
from core.policy import MissingPolicyValue, policy_int
from institutions import changes, policy, services, verification
from institutions.models import Category, ChangeProposal, Course, Mode, Status
from institutions.selectors import access_institution_for_editing
from institutions.services import TRANSITIONS
from supervision.complaints.models import SUBSTANTIATED_OUTCOMES, Complaint
from supervision.inspections.plans import inspection_open_adhoc

from .registry_query import may_use_console
from .timeline import KINDS, institution_timeline, scans_per_week


def _institution(request, institution_id: int):
    """The institution if the user is bureau staff or admin of its town; Http404 otherwise (the same for missing)."""
    if not may_use_console(request.user):
        raise Http404
    try:
        return access_institution_for_editing(request.user, institution_id)
    except NotFound:
        raise Http404 from None


def _signed_in(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


def _courses(institution, limits):
    """Courses (on sale first) with their packages and slots; each package carries the rules it breaks."""
    courses = list(
        Course.objects.filter(institution=institution).prefetch_related("packages", "slots").order_by("-is_active",
                                                                                                       "name", "id")
    )  # fmt: skip
    for course in courses:
        course.package_rows = [
            {"p": p, "breaks": verification.package_rule_findings(limits, p, course)} for p in course.packages.all()
        ]
    return courses


def _inspectors(institution):
    ids = scope.users_covering_town(institution.town_id, Role.INSPECTOR)
    return list(get_user_model().objects.filter(pk__in=ids).order_by("name", "pk"))


def _team_minimum() -> int:
    try:
        return policy_int("inspectors_per_visit_min")
    except MissingPolicyValue:
        return 2


def _accounts(institution) -> list[dict]:
    return [
        {
            "pk": m.pk,
            "name": m.user.name,
            "phone": mask_phone(m.user.phone),
            "since": m.created_at,
            "remove_form": f"account_remove_{m.pk}",
        }
        for m in accounts_services.institution_members(institution.pk)
    ]


def _page(request, institution, *, status: int = 200, **extra):
    today = timezone.localdate()
    kind = request.GET.get("kind", "") if request.GET.get("kind") in KINDS else ""
    limits = policy.Limits().preload(*policy.PACKAGE_KEYS)
    token = verification.live_token(institution)
    current = institution.current_status
    substantiated = list(
        Complaint.objects.filter(institution=institution, outcome__in=SUBSTANTIATED_OUTCOMES, inspection__isnull=True)
        .only("pk", "tracking_number")
        .order_by("-created_at")[:20]
    )
    context = {
        "inst": institution,
        "current_status": current,
        "current_status_label": Status(current).label,
        "expired_unrecorded": current != institution.status,
        "findings": policy.evaluate(institution),
        "courses": _courses(institution, limits),
        "timeline": institution_timeline(institution, today=today, kind=kind),
        "kinds": list(KINDS.items()),
        "kind": kind,
        "scans": scans_per_week(institution, today=today),
        "verify_url": verification.public_address(token),
        "verify_path": verification.VERIFY_PATH.format(token=token.token),
        "token": token,
        "transitions": [(s, Status(s).label) for s in Status.values if s in TRANSITIONS[institution.status]],
        "inspectors": _inspectors(institution),
        "team_minimum": _team_minimum(),
        "substantiated": substantiated,
        "may_open_unlicensed": institution.status == Status.UNLICENSED,
        "accounts": _accounts(institution),
        "done": request.GET.get("done", ""),
        "errors": {},
        "message": "",
        "values": {},
        "today": today,
        **extra,
    }
    return render(request, "console/institution/page.html", context, status=status)


@_signed_in
@require_safe
def institution_page(request, institution_id: int):
    """The institution's record, compliance findings, courses and fees (rule-breaking packages marked), the timeline
    of its whole history (filter by kind with ?kind=), QR scans per week, and the actions."""
    return _page(request, _institution(request, institution_id))


def _back(institution, done: str, **more):
    query = urlencode({"done": done, **more})
    return redirect(f"{reverse('console-institution', args=[institution.pk])}?{query}#done")


def _failed(request, institution, exc: DomainError, form: str):
    errors = {f"{form}_{k}": v for k, v in exc.field_messages().items()}
    return _page(
        request, institution, status=exc.status if 400 <= exc.status < 500 else 422,
        errors=errors, message=exc.message(), failed_form=form, values=request.POST,
    )  # fmt: skip


@_signed_in
@require_POST
def institution_status(request, institution_id: int):
    """Change the status with a reason (institutions.services.institution_change_status: the allowed transitions, the
    licence check, the audit event, the poster and the QR page follow)."""
    institution = _institution(request, institution_id)
    try:
        services.institution_change_status(
            actor=request.user,
            institution_id=institution.pk,
            to_status=request.POST.get("to_status", ""),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        return _failed(request, institution, exc, "status")
    return _back(institution, "status")


@_signed_in
@require_POST
def institution_token(request, institution_id: int):
    """Rotate the verification code (a forged or leaked poster): the old code then says "may be forged"."""
    institution = _institution(request, institution_id)
    try:
        services.token_rotate(actor=request.user, institution_id=institution.pk, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _failed(request, institution, exc, "token")
    return _back(institution, "token")


@_signed_in
@require_POST
def institution_adhoc(request, institution_id: int):
    """Open an ad-hoc inspection (supervision.inspections.plans.inspection_open_adhoc): from a substantiated complaint
    about this institution, or of an unlicensed operator, by a team of the town's inspectors."""
    institution = _institution(request, institution_id)
    ids = [int(v) for v in request.POST.getlist("inspector_ids") if v.isdigit() and len(v) < 10]
    source = request.POST.get("source", "")
    complaint_id = int(source) if source.isdigit() and len(source) < 10 else None
    try:
        if complaint_id is not None:
            if not Complaint.objects.filter(pk=complaint_id, institution=institution).exists():
                raise DomainError("request.invalid", _("请选择本机构的属实投诉"), status=422,
                                  fields={"source": _("请选择")})  # fmt: skip
            visit = inspection_open_adhoc(actor=request.user, inspector_ids=ids, complaint_id=complaint_id)
        else:
            visit = inspection_open_adhoc(actor=request.user, inspector_ids=ids, institution_id=institution.pk)
    except DomainError as exc:
        return _failed(request, institution, exc, "adhoc")
    return _back(institution, "inspection", visit=visit.pk)


@_signed_in
@require_POST
def institution_account_add(request, institution_id: int):
    """Give an account (its phone) the institution's role, with a reason (accounts.services.institution_member_add:
    the town's bureau only, audited on the institution's timeline)."""
    institution = _institution(request, institution_id)
    try:
        _membership, created = accounts_services.institution_member_add(
            actor=request.user,
            institution_id=institution.pk,
            town_id=institution.town_id,
            phone=request.POST.get("phone", ""),
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        return _failed(request, institution, exc, "account_add")
    return _back(institution, "account_added" if created else "account_exists")


@_signed_in
@require_POST
def institution_account_remove(request, institution_id: int, membership_id: int):
    """Take the institution's role from an account, with a reason (accounts.services.institution_member_remove)."""
    institution = _institution(request, institution_id)
    try:
        accounts_services.institution_member_remove(
            actor=request.user,
            institution_id=institution.pk,
            town_id=institution.town_id,
            membership_id=membership_id,
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        return _failed(request, institution, exc, f"account_remove_{membership_id}")
    return _back(institution, "account_removed")


# --- Edits -----------------------------------------------------------------------------------------------------------

REGISTRY_EDIT_FIELDS = (
    ("name", _("名称"), "text"),
    ("address", _("地址"), "text"),
    ("legal_representative", _("法定代表人"), "text"),
    ("contact_phone", _("联系电话"), "tel"),
    ("licence_number", _("办学许可证号"), "text"),
    ("licence_issued_on", _("发证日期"), "date"),
    ("licence_expires_on", _("有效期至"), "date"),
    ("floor_area_m2", _("场地面积(m²)"), "text"),
    ("max_students_present", _("同时在校最多学生数"), "number"),
    ("latitude", _("纬度"), "text"),
    ("longitude", _("经度"), "text"),
)


def _registry_values(institution) -> dict:
    out = {}
    for name, _label, _type in REGISTRY_EDIT_FIELDS:
        value = getattr(institution, name)
        out[name] = "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))
    return out


@_signed_in
@require_http_methods(["GET", "POST"])
def institution_edit(request, institution_id: int):
    """Edit the registry record (institutions.services.institution_update): every field's problem beside it."""
    institution = _institution(request, institution_id)
    values, errors, message = _registry_values(institution), {}, ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name, _label, _type in REGISTRY_EDIT_FIELDS}
        changed = {k: v for k, v in values.items() if v != _registry_values(institution)[k]}
        try:
            services.institution_update(actor=request.user, institution_id=institution.pk, data=changed)
        except DomainError as exc:
            errors, message = exc.field_messages(), exc.message()
        else:
            return redirect("console-institution", institution_id=institution.pk)
    fields = [
        {"name": n, "label": label, "type": t, "value": values.get(n, ""), "error": errors.get(n, "")}
        for n, label, t in REGISTRY_EDIT_FIELDS
    ]
    return render(
        request,
        "console/institution/edit.html",
        {"inst": institution, "fields": fields, "errors": errors, "message": message},
        status=422 if (errors or message) else 200,
    )


CHANGE_FIELDS = {
    ChangeProposal.Kind.PACKAGE: (
        ("course_id", _("课程"), "course"),
        ("name", _("套餐名称"), "text"),
        ("hours", _("课时数"), "number"),
        ("months", _("周期(月)"), "number"),
        ("price", _("价格(元)"), "text"),
    ),
    ChangeProposal.Kind.COURSE: (
        ("name", _("课程名称"), "text"),
        ("subject", _("科目"), "text"),
        ("category", _("类别"), "category"),
        ("mode", _("形式"), "mode"),
        ("min_age", _("最小年龄"), "number"),
        ("max_age", _("最大年龄"), "number"),
        ("grade_range", _("年级范围"), "text"),
        ("class_minutes", _("单次课时长(分钟)"), "number"),
    ),
    ChangeProposal.Kind.SLOT: (
        ("course_id", _("课程"), "course"),
        ("weekday", _("星期（0=周一 … 6=周日）"), "number"),
        ("start_time", _("开始"), "time"),
        ("end_time", _("结束"), "time"),
    ),
}


@_signed_in
@require_http_methods(["GET", "POST"])
def institution_change(request, institution_id: int, kind: str):
    """Add or change a fee package, course or schedule slot through the registry's change service (the same checks as
    the API and an institution's proposal). "检查" shows the rules the change would break before saving; "保存"
    saves, and is refused with those rules if it breaks one."""
    institution = _institution(request, institution_id)
    if kind not in CHANGE_FIELDS:
        raise Http404
    raw_target = request.GET.get("target") or request.POST.get("target") or ""
    target_id = int(raw_target) if raw_target.isdigit() and len(raw_target) < 10 else None
    current = changes.SPECS[kind].owned(institution).filter(pk=target_id).first() if target_id else None
    if target_id and current is None:
        raise Http404
    action = ChangeProposal.Action.UPDATE if current is not None else ChangeProposal.Action.CREATE
    values = changes.snapshot(kind, current) if current is not None else {}
    errors, message, findings, checked = {}, "", [], False
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name, _label, _type in CHANGE_FIELDS[kind]}
        data = dict(values)
        try:
            if "save" in request.POST:
                services.record_change(
                    actor=request.user, institution_id=institution.pk, kind=kind, action=action,
                    target_id=target_id, data=data,
                )  # fmt: skip
                return _back(institution, "change")
            findings = services.change_preview(
                actor=request.user, institution_id=institution.pk, kind=kind, action=action, target_id=target_id,
                data=data,
            )  # fmt: skip
            checked = True
        except DomainError as exc:
            if exc.code == "institution.rule_broken":  # saving refused: the same findings, said again
                findings = services.change_preview(
                    actor=request.user, institution_id=institution.pk, kind=kind, action=action,
                    target_id=target_id, data=data,
                )  # fmt: skip
            else:
                errors, message = exc.field_messages(), exc.message()
    for finding in findings:
        errors.setdefault(finding.field or finding.rule_id, finding.message())
    courses = list(Course.objects.filter(institution=institution).order_by("name", "id").values_list("pk", "name"))
    fields = [
        {"name": n, "label": label, "type": t, "value": "" if values.get(n) is None else str(values.get(n)),
         "error": errors.get(n, "")}
        for n, label, t in CHANGE_FIELDS[kind]
    ]  # fmt: skip
    return render(
        request,
        "console/institution/change.html",
        {
            "inst": institution, "kind": kind, "kind_label": ChangeProposal.Kind(kind).label, "target_id": target_id,
            "fields": fields, "courses": courses, "categories": Category.choices,
            "modes": [(Mode.OFFLINE, Mode.OFFLINE.label), (Mode.ONLINE, Mode.ONLINE.label)],
            "errors": errors, "findings": findings, "message": message, "checked": checked,
        },
        status=422 if (errors or message or findings) else 200,
    )  # fmt: skip


urlpatterns = [
    path("console/institutions/<int:institution_id>/", institution_page, name="console-institution"),
    path("console/institutions/<int:institution_id>/status", institution_status, name="console-institution-status"),
    path("console/institutions/<int:institution_id>/token", institution_token, name="console-institution-token"),
    path("console/institutions/<int:institution_id>/inspection", institution_adhoc, name="console-institution-adhoc"),
    path("console/institutions/<int:institution_id>/edit", institution_edit, name="console-institution-edit"),
    path(
        "console/institutions/<int:institution_id>/accounts/add",
        institution_account_add,
        name="console-institution-account-add",
    ),
    path(
        "console/institutions/<int:institution_id>/accounts/<int:membership_id>/remove",
        institution_account_remove,
        name="console-institution-account-remove",
    ),
    path(
        "console/institutions/<int:institution_id>/change/<str:kind>/",
        institution_change,
        name="console-institution-change",
    ),
]
