"""Web pages of outside-personnel admission (校外人员准入): the applicant's list, new application (pre-filled from
their last one), the application's page (complete, upload scans, submit, renew), and the reviewers' queue (the
school's admins for their school, the bureau for its towns) with approve / return-with-message. Every action calls
the same service as the API (afterschool.admission); scans are served through the logged, reviewer-only
document_open. Anything outside the user's scope answers 404."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import scope
from afterschool.schedule.models import Programme, School
from afterschool.schedule.views import signed_in
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response

from . import permissions, selectors, services
from .models import Admission, AdmissionDocument, AdmissionReason

S = Admission.Status
QUALIFICATION_ROWS = 3
DOCUMENT_KINDS = AdmissionDocument.Kind.choices


def _field_error(field: str, message) -> DomainError:
    return DomainError("admission.form_invalid", message, status=422, fields={field: message})


def _date(raw: str, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _field_error(field, _("日期格式应为 年-月-日")) from None


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _qualifications_from(post) -> list[dict]:
    out = []
    for i in range(QUALIFICATION_ROWS):
        row = {k: (post.get(f"q{i}_{k}") or "").strip() for k in ("kind", "number", "issuer", "expires_on")}
        if any(row.values()):
            out.append({**row, "expires_on": _date(row["expires_on"], f"q{i}_expires_on")})
    return out


def _qualification_rows(qualifications: list[dict]) -> list[dict]:
    rows = [dict(q) for q in qualifications[:QUALIFICATION_ROWS]]
    return [*rows, *({} for _ in range(QUALIFICATION_ROWS - len(rows)))]


def _errors(exc: DomainError) -> dict[str, str]:
    """{field id on the page: message}: the summary at the top links each to its field."""
    errors = {}
    for key, text in exc.field_messages().items():
        errors["q0_kind" if key.startswith("qualifications") else key] = text
    return errors


DATE_FIELDS = ("record_issued_on", "health_issued_on", *(f"q{i}_expires_on" for i in range(QUALIFICATION_ROWS)))


def _all_dates_or_raise(post) -> None:
    """Every unreadable date of a form at once (one DomainError naming each field), not only the first."""
    bad = [field for field in DATE_FIELDS if (post.get(field) or "").strip() and _is_bad_date(post.get(field))]
    if bad:
        message = _("日期格式应为 年-月-日")
        raise DomainError("admission.form_invalid", message, status=422, fields={f: message for f in bad})


def _is_bad_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw.strip())
    except ValueError:
        return True
    return False


def _check_new(values: dict, post) -> dict[str, str]:
    """Every problem of the new-application form at once (the service then checks what needs the database and
    stops at its first)."""
    errors: dict[str, str] = {}
    name = values["name"].strip()
    if not name or len(name) > 50:
        errors["name"] = gettext("请填写姓名（不超过 50 字）")
    if not values["id_number"].strip():
        errors["id_number"] = gettext("请填写身份证号")
    if _int(values["school_id"]) is None:
        errors["school_id"] = gettext("请选择学校")
    for field in DATE_FIELDS:
        try:
            _date(post.get(field, ""), field)
        except DomainError as exc:
            errors[field] = exc.message()
    return errors


def _status(exc: DomainError) -> int:
    return exc.status if exc.status < 500 else 503


# --- The applicant -------------------------------------------------------------------------------------------------


@require_safe
@signed_in
def mine(request):
    """The applicant's applications (an institution's staff: those of their institution) and where each stands."""
    rows = list(
        selectors.applications_of(request.user)
        .select_related("person", "school", "institution")
        .order_by("-created_at", "-id")[:200]
    )
    return render(
        request,
        "afterschool/admission/mine.html",
        {
            "rows": rows,
            "renewable": (S.ADMITTED, S.EXPIRED),
            "is_reviewer": permissions.reviews_somewhere(request.user),
        },
    )


def _prefill(user) -> dict:
    """The new form starts from the applicant's last application (the ID number is typed again: the platform keeps
    only a keyed hash of it)."""
    last = selectors.applications_of(user).select_related("person").order_by("-created_at", "-id").first()
    if last is None:
        return {"paid": True, "qualifications": _qualification_rows([])}
    return {
        "from_last": last,
        "name": last.person.name,
        "phone": last.person.phone,
        "school_id": str(last.school_id),
        "institution_id": str(last.institution_id or ""),
        "paid": last.paid,
        "qualifications": _qualification_rows(last.qualifications),
        "record_issuer": last.record_issuer,
        "health_issuer": last.health_issuer,
        "fee_per_lesson": last.fee_per_lesson if last.fee_per_lesson is not None else "",
        "market_price": last.market_price if last.market_price is not None else "",
    }


@require_http_methods(["GET", "POST"])
@signed_in
def new(request):
    from institutions.models import Institution

    context = {
        "schools": School.objects.select_related("town").order_by("town__code", "name", "id"),
        "institutions": Institution.objects.filter(pk__in=scope.institution_ids(request.user)).order_by("name"),
        "errors": {},
    }
    if request.method == "GET":
        return render(request, "afterschool/admission/new.html", {**context, "values": _prefill(request.user)})
    post = request.POST
    values = {k: post.get(k, "") for k in ("name", "id_number", "phone", "school_id", "institution_id",
                                           "record_issuer", "record_issued_on", "health_issuer", "health_issued_on",
                                           "fee_per_lesson", "market_price")}  # fmt: skip
    values["paid"] = post.get("paid") == "on"
    values["consent_signed"] = post.get("consent_signed") == "on"
    values["qualifications"] = _qualification_rows(
        [{k: post.get(f"q{i}_{k}", "") for k in ("kind", "number", "issuer", "expires_on")} for i in range(3)]
    )
    errors = _check_new(values, post)
    if errors:
        values["id_number"] = ""  # never echoed back
        context = {**context, "values": values, "errors": errors}
        return render(request, "afterschool/admission/new.html", context, status=422)
    try:
        school_id = _int(values["school_id"])
        admission = services.admission_create(
            actor=request.user,
            school_id=school_id,
            name=values["name"],
            id_number=values["id_number"],
            phone=values["phone"].strip() if values["phone"].strip().isdigit() else "",
            institution_id=_int(values["institution_id"]),
            paid=values["paid"],
            qualifications=_qualifications_from(post),
            record_issuer=values["record_issuer"].strip(),
            record_issued_on=_date(values["record_issued_on"], "record_issued_on"),
            health_issuer=values["health_issuer"].strip(),
            health_issued_on=_date(values["health_issued_on"], "health_issued_on"),
            consent_signed=values["consent_signed"],
            fee_per_lesson=values["fee_per_lesson"].strip() or None,
            market_price=values["market_price"].strip() or None,
        )
    except DomainError as exc:
        values["id_number"] = ""  # never echoed back
        return render(
            request,
            "afterschool/admission/new.html",
            {**context, "values": values, "errors": _errors(exc), "message": exc.message()},
            status=_status(exc),
        )
    messages.success(request, gettext("草稿已保存，请上传材料后提交"))
    return redirect("afterschool-admission", admission_id=admission.pk)


def _detail_context(user, admission: Admission) -> dict:
    reviewer = permissions.is_reviewer(user, admission)
    applicant = admission.applicant_id == user.pk or admission.institution_id in scope.institution_ids(user)
    documents = list(admission.documents.all())
    return {
        "a": admission,
        "documents": documents,
        "programmes": list(admission.programmes.all()),
        "choices": Programme.objects.filter(school_id=admission.school_id, term__ends_on__gte=services.today())
        .select_related("term")
        .order_by("term__starts_on", "name"),
        "chosen": {p.pk for p in admission.programmes.all()},
        "is_applicant": applicant,
        "editable": applicant and admission.status in (S.DRAFT, S.RETURNED),
        "renewable": applicant and admission.status in (S.ADMITTED, S.EXPIRED),
        "is_reviewer": reviewer,
        "can_review": _can_review(user, admission),
        "can_decide": admission.status in (S.ADMITTED, S.SUSPENDED) and permissions.is_bureau_reviewer(user, admission),
        "reasons": AdmissionReason.choices,
        "kinds": DOCUMENT_KINDS,
        "qualifications": _qualification_rows(admission.qualifications),
        "errors": {},
    }


def _can_review(user, admission: Admission) -> bool:
    return (admission.status == S.SCHOOL_REVIEW and permissions.is_school_reviewer(user, admission)) or (
        admission.status == S.BUREAU_REVIEW and permissions.is_bureau_reviewer(user, admission)
    )


@require_http_methods(["GET", "POST"])
@signed_in
def detail(request, admission_id: int):
    """One application: the applicant completes it (fields, programmes, scans), submits or renews it; a reviewer sees
    it with its scans (each view logged) and, at their step, approves or returns it; the bureau suspends, revokes or
    reinstates an admission."""
    admission = permissions.access_admission(request.user, admission_id)
    if request.method == "GET":
        return render(request, "afterschool/admission/detail.html", _detail_context(request.user, admission))
    action = request.POST.get("action", "")
    try:
        if action == "update":
            _all_dates_or_raise(request.POST)
            services.admission_update(
                actor=request.user,
                admission=admission,
                programme_ids=[int(p) for p in request.POST.getlist("programme_ids") if _int(p)],
                qualifications=_qualifications_from(request.POST),
                record_issuer=request.POST.get("record_issuer", ""),
                record_issued_on=_date(request.POST.get("record_issued_on", ""), "record_issued_on"),
                health_issuer=request.POST.get("health_issuer", ""),
                health_issued_on=_date(request.POST.get("health_issued_on", ""), "health_issued_on"),
                consent_signed=request.POST.get("consent_signed") == "on",
                **(
                    {
                        "fee_per_lesson": request.POST.get("fee_per_lesson", "").strip() or None,
                        "market_price": request.POST.get("market_price", "").strip() or None,
                    }
                    if admission.institution_id
                    else {}
                ),
            )
            messages.success(request, gettext("已保存"))
        elif action == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise _field_error("file", _("请选择文件"))
            services.document_add(
                actor=request.user, admission=admission, kind=request.POST.get("kind", ""), upload=upload
            )
            messages.success(request, gettext("材料已上传"))
        elif action == "submit":
            services.admission_submit(actor=request.user, admission=admission)
            messages.success(request, gettext("已提交，等待学校审核"))
        elif action in ("suspend", "revoke"):
            service = services.admission_suspend if action == "suspend" else services.admission_revoke
            service(
                actor=request.user,
                admission=admission,
                reason=request.POST.get("reason", ""),
                note=request.POST.get("note", "")[:200],
            )
            messages.success(
                request,
                gettext("已暂停，其后续课时已撤下") if action == "suspend" else gettext("已撤销，其后续课时已撤下"),
            )
        elif action == "reinstate":
            services.admission_reinstate(actor=request.user, admission=admission, note=request.POST.get("note", ""))
            messages.success(request, gettext("已恢复准入，请学校重新排课"))
        elif action == "renew":
            draft = services.admission_renew(actor=request.user, admission=admission)
            messages.success(request, gettext("已按上次申请预填续期草稿，请更新证明日期并重新上传材料"))
            return redirect("afterschool-admission", admission_id=draft.pk)
        else:
            raise _field_error("action", _("未知操作"))
    except DomainError as exc:
        admission.refresh_from_db()
        context = {**_detail_context(request.user, admission), "errors": _errors(exc), "message": exc.message()}
        return render(request, "afterschool/admission/detail.html", context, status=_status(exc))
    return redirect("afterschool-admission", admission_id=admission.pk)


# --- Reviewers -----------------------------------------------------------------------------------------------------


def _queue(user):
    awaiting = selectors.awaiting_review_by(user)
    if awaiting is None:
        raise NotFound(_("审核队列不存在"))
    return (
        awaiting.select_related("person", "school__town", "institution")
        .prefetch_related("documents", "programmes")
        .order_by("submitted_at", "id")
    )


def _queue_page(request, *, message: str = "", status: int = 200, failed: int | None = None, sent: str = ""):
    rows = list(_queue(request.user)[:200])
    return render(
        request,
        "afterschool/admission/queue.html",
        {"rows": rows, "message": message, "failed": failed, "sent_message": sent},
        status=status,
    )


@require_safe
@signed_in
def queue(request):
    """Applications waiting for this reviewer: a school's admins those of their school in school review, the bureau
    those of schools in its towns in bureau review."""
    return _queue_page(request)


@require_POST
@signed_in
def review(request, admission_id: int):
    admission = permissions.access_admission(request.user, admission_id)
    if not permissions.is_reviewer(request.user, admission):
        raise Http404
    decision = request.POST.get("decision")
    message = request.POST.get("message", "")
    try:
        if decision not in ("approve", "return"):
            raise _field_error("decision", _("请选择通过或退回"))
        service = (
            services.admission_bureau_review
            if admission.status == S.BUREAU_REVIEW
            else services.admission_school_review
        )
        service(actor=request.user, admission=admission, approve=decision == "approve", message=message)
    except DomainError as exc:
        return _queue_page(request, message=exc.message(), status=_status(exc), failed=admission.pk, sent=message)
    admission.refresh_from_db()
    done = gettext("已通过") if decision == "approve" else gettext("已退回")
    messages.success(request, f"{admission.person.name}：{done}（{admission.get_status_display()}）")
    return redirect("afterschool-admission-queue")


@require_safe
@signed_in
def document(request, admission_id: int, document_id: int):
    """A scan for a reviewer of this application only; each view is logged (the same service as the API)."""
    admission = permissions.access_admission(request.user, admission_id)
    doc = services.document_open(actor=request.user, admission=admission, document_id=document_id)
    name = f"admission-{admission.pk}-{doc.kind}-{doc.pk}.{'pdf' if doc.content_type == 'application/pdf' else 'jpg'}"
    return uploaded_file_response(doc.file.open("rb"), content_type=doc.content_type, filename=name)


def third_parties(request):
    """Public: the admitted third-party institutions (R-ASS-2); individuals are never listed."""
    return render(request, "afterschool/third_parties.html", {"institutions": selectors.admitted_third_parties()[:500]})


@require_safe
@signed_in
def expiring(request):
    """A school's admins: admissions to their schools that end within 30 days, soonest first (anyone else: 404)."""
    qs = selectors.expiring_admissions(request.user, timezone.localdate())
    if qs is None:
        raise Http404
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "afterschool/admission/expiring.html", {"page": page})
