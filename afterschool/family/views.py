"""A parent's pages (phone first), around the children page (afterschool-my-children): link a child, one child's
page (what they may apply for, choice windows, applications with results and waitlist places, bills with their
payment code, refunds and payments, reductions, absences), ranked choices in a window, a withdrawal with the refund
shown before confirming, and a request for an exemption or reduction with a document. Each page calls the same
services as the API; another family's child answers 404."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts import scope
from accounts.models import Role
from afterschool.fees import bank
from afterschool.fees import services as fee_services
from afterschool.fees.models import Bill, Exemption
from afterschool.fees.permissions import APPROVER_ROLES
from afterschool.schedule import calendar, enrolment
from afterschool.schedule.models import (
    FORBIDDEN_KINDS,
    WEEKDAY_LABELS,
    Application,
    Attendance,
    ChoiceWindow,
    Programme,
    School,
    Session,
    Term,
)
from afterschool.schedule.permissions import access_child
from afterschool.schedule.views import signed_in
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response

from . import services
from .models import ChildLinkRequest

S = Application.Status


def _errors(exc: DomainError) -> dict[str, str]:
    return dict(exc.field_messages())


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Linking a child -------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def link(request):
    """A parent names their child: linked at once when the class list holds their phone, else asked of the school."""
    schools = School.objects.select_related("town").order_by("town__code", "name")
    values, errors, message, outcome, status = {}, {}, "", None, 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("school_id", "grade", "class_number", "child_name",
                                                               "relation")}  # fmt: skip
        required = (("school_id", _("请选择学校")), ("grade", _("请选择年级")), ("class_number", _("请填写班号")))
        for key, label in required:
            if _int(values[key]) is None:
                errors[key] = str(label)
        if not values["child_name"]:
            errors["child_name"] = gettext("请填写孩子姓名")
        if not errors:
            try:
                outcome = services.child_link_request(
                    actor=request.user,
                    school_id=_int(values["school_id"]),
                    grade=_int(values["grade"]),
                    class_number=_int(values["class_number"]),
                    child_name=values["child_name"],
                    relation=values["relation"],
                )
            except DomainError as exc:
                errors, message, status = _errors(exc), exc.message(), exc.status
        else:
            status = 422
        if outcome is not None and outcome.status == ChildLinkRequest.Status.CONFIRMED:
            messages.success(
                request, format_lazy(_("已关联{name}：学校名单中登记了您的手机号。"), name=outcome.child_name)
            )
            return redirect("afterschool-my-children")
    mine = services.link_requests_of_parent(request.user)[:20]
    return render(
        request,
        "afterschool/family/link.html",
        {"schools": schools, "grades": range(1, 10), "values": values, "errors": errors, "message": message,
         "outcome": outcome, "mine": mine},
        status=status,
    )  # fmt: skip


# --- One child -------------------------------------------------------------------------------------------------------


def _sessions_by_programme(programme_ids) -> dict[int, list[Session]]:
    out: dict[int, list[Session]] = {}
    for s in Session.objects.filter(programme_id__in=programme_ids).order_by("weekday", "starts_at"):
        out.setdefault(s.programme_id, []).append(s)
    return out


def _slot_text(sessions: list[Session]) -> str:
    labels = [str(w) for w in WEEKDAY_LABELS]
    seen, parts = set(), []
    for s in sessions:
        key = (s.weekday, s.starts_at, s.ends_at)
        if key not in seen:
            seen.add(key)
            parts.append(f"{labels[s.weekday]} {s.starts_at:%H:%M}–{s.ends_at:%H:%M}")
    return "、".join(parts)


def _waitlist_places(apps: list[Application]) -> dict[int, int]:
    """{application id: its place on the waitlist (1 = next)}, one query per programme with a waitlisted child."""
    out = {}
    for programme_id in {a.programme_id for a in apps if a.status == S.WAITLISTED}:
        order = list(
            Application.objects.filter(programme_id=programme_id, status=S.WAITLISTED)
            .order_by("-priority", "lottery_number", "created_at", "id")
            .values_list("pk", flat=True)
        )
        for a in apps:
            if a.programme_id == programme_id and a.pk in order:
                out[a.pk] = order.index(a.pk) + 1
    return out


@require_safe
@signed_in
def child_page(request, student_id: int):
    child = access_child(request.user, student_id)
    today, now = timezone.localdate(), timezone.now()
    apps = list(
        Application.objects.filter(student=child)
        .select_related("programme__term", "window")
        .order_by("-created_at", "-id")[:50]
    )
    live = {a.programme_id for a in apps if a.status in Application.LIVE}
    places = _waitlist_places(apps)
    windows = list(
        ChoiceWindow.objects.filter(school_id=child.school_id, term__ends_on__gte=today)
        .filter(Q(status=ChoiceWindow.Status.OPEN) | Q(applications__student=child))
        .distinct()
        .select_related("term")
        .order_by("-closes_at")[:10]
    )
    in_open_window = set(
        Programme.objects.filter(
            choice_windows__status=ChoiceWindow.Status.OPEN, choice_windows__closes_at__gt=now,
            choice_windows__school_id=child.school_id,
        ).values_list("pk", flat=True)
    )  # fmt: skip
    grade = child.school_class.grade
    options = list(
        Programme.objects.filter(
            school_id=child.school_id, term__ends_on__gte=today, grade_min__lte=grade, grade_max__gte=grade
        )
        .exclude(kind__in=FORBIDDEN_KINDS)
        .exclude(pk__in=live)
        .select_related("term")
        .annotate(enrolled=Count("applications", filter=Q(applications__status=S.APPROVED)))
        .order_by("term__starts_on", "name")[:50]
    )
    slots = _sessions_by_programme([p.pk for p in options] + [a.programme_id for a in apps])
    bills = list(
        fee_services.bills_with_sums(Bill.objects.filter(student=child))
        .select_related("term")
        .prefetch_related("refunds", "payments")
        .order_by("-term__starts_on")
    )
    for b in bills:
        b.code = bank.payment_code(b)
        b.owed = b.amount - (b.refunded_sum or 0) - (b.paid_sum or 0)
    exemptions = list(Exemption.objects.filter(student=child).select_related("term").order_by("-applied_at"))
    absences = list(
        Attendance.objects.filter(student=child, mark="absent", date__gte=today - timedelta(days=60))
        .select_related("session__programme")
        .order_by("-date")[:30]
    )
    terms = Term.objects.filter(school_id=child.school_id, ends_on__gte=today).order_by("starts_on")
    return render(
        request,
        "afterschool/family/child.html",
        {
            "child": child,
            "apps": [
                {"app": a, "slots": _slot_text(slots.get(a.programme_id, [])), "place": places.get(a.pk),
                 "can_withdraw": a.status in Application.LIVE}
                for a in apps
            ],  # fmt: skip
            "options": [
                {"p": p, "slots": _slot_text(slots.get(p.pk, [])), "left": max(p.capacity - p.enrolled, 0),
                 "in_window": p.pk in in_open_window}
                for p in options
            ],  # fmt: skip
            "windows": [{"w": w, "open": w.status == "open" and w.opens_at <= now < w.closes_at} for w in windows],
            "bills": bills,
            "provisional_years": calendar.provisional_years_of(*{b.term for b in bills}),
            "exemptions": exemptions,
            "absences": absences,
            "can_request_exemption": terms.exists(),
        },
    )


@require_http_methods(["POST"])
@signed_in
def apply(request, student_id: int):
    child = access_child(request.user, student_id)
    try:
        app = enrolment.application_submit(
            actor=request.user, student_id=child.pk, programme_id=_int(request.POST.get("programme_id")) or 0
        )
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(
            request, format_lazy(_("已报名“{name}”，等待班主任审核。"), name=app.programme.name)
        )
    return redirect("afterschool-child", student_id=child.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def choices(request, student_id: int, window_id: int):
    """Ranked choices (up to three) in a choice window; after it closes: a clear message and no form."""
    child = access_child(request.user, student_id)
    window = ChoiceWindow.objects.filter(pk=window_id, school_id=child.school_id).select_related("term").first()
    if window is None:
        raise Http404
    now = timezone.now()
    is_open = window.status == ChoiceWindow.Status.OPEN and window.opens_at <= now < window.closes_at
    grade = child.school_class.grade
    programmes = [p for p in window.programmes.order_by("name") if p.admits_grade(grade)]
    slots = _sessions_by_programme([p.pk for p in programmes])
    current = {
        a.rank: a.programme_id
        for a in Application.objects.filter(window=window, student=child).exclude(rank__isnull=True)
    }
    errors, message, status = {}, "", 200
    if request.method == "POST":
        picked = [_int(request.POST.get(f"choice{i}")) for i in (1, 2, 3)]
        picked = [p for p in picked if p]
        current = {i + 1: p for i, p in enumerate(picked)}
        if not is_open:
            status = 409
            message = closed_message(window, now)
        else:
            try:
                enrolment.choices_submit(
                    actor=request.user, window_id=window.pk, student_id=child.pk, programme_ids=picked
                )
            except DomainError as exc:
                errors, message, status = _errors(exc), exc.message(), exc.status
            else:
                messages.success(request, gettext("志愿已提交，截止后统一抽签分配，结果会通知您。"))
                return redirect("afterschool-child", student_id=child.pk)
    return render(
        request,
        "afterschool/family/choices.html",
        {
            "child": child,
            "window": window,
            "is_open": is_open,
            "closed_message": "" if is_open else closed_message(window, now),
            "programmes": [{"p": p, "slots": _slot_text(slots.get(p.pk, []))} for p in programmes],
            "ranks": [(i, current.get(i)) for i in (1, 2, 3)],
            "errors": errors,
            "message": message,
        },
        status=status,
    )


def closed_message(window: ChoiceWindow, now) -> str:
    if now < window.opens_at:
        when = date_format(timezone.localtime(window.opens_at), "Y-m-d H:i")
        return str(format_lazy(_("志愿填报尚未开始（{when} 开始）"), when=when))
    when = date_format(timezone.localtime(window.closes_at), "Y-m-d H:i")
    return str(format_lazy(_("志愿填报已于 {when} 截止，不能再提交或修改志愿"), when=when))


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def withdraw(request, student_id: int, application_id: int):
    """The refund is shown before the parent confirms; confirming withdraws through the same service as the API."""
    child = access_child(request.user, student_id)
    app = (
        Application.objects.filter(pk=application_id, student=child)
        .select_related("programme__term", "student")
        .first()
    )
    if app is None:
        raise Http404
    if request.method == "POST":
        try:
            enrolment.application_withdraw(actor=request.user, application_id=app.pk)
        except DomainError as exc:
            messages.error(request, exc.message())
        else:
            refund = app.fee_refunds.first()
            if refund:
                messages.success(request, format_lazy(_("已退出“{name}”，退费 {amount} 元。"), name=app.programme.name,
                                                      amount=refund.amount))  # fmt: skip
            else:
                messages.success(request, format_lazy(_("已退出“{name}”。"), name=app.programme.name))
        return redirect("afterschool-child", student_id=child.pk)
    if app.status not in Application.LIVE:
        raise Http404
    effective, preview = None, None
    if app.status == S.APPROVED:
        term = app.programme.term
        effective = max(calendar.next_school_day(term, timezone.localdate()), app.active_from or term.starts_on)
        preview = fee_services.refund_preview(app, effective)
    return render(
        request,
        "afterschool/family/withdraw.html",
        {"child": child, "app": app, "effective": effective, "preview": preview},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def exemption(request, student_id: int):
    """A request for an exemption or reduction of a term's fee, with a document (image or PDF)."""
    child = access_child(request.user, student_id)
    today = timezone.localdate()
    terms = list(Term.objects.filter(school_id=child.school_id, ends_on__gte=today).order_by("starts_on"))
    if not terms:
        raise Http404
    values, errors, message, status = {"kind": "exempt", "term_id": str(terms[0].pk)}, {}, "", 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("term_id", "kind", "amount", "reason")}
        try:
            fee_services.exemption_apply(
                actor=request.user,
                student_id=child.pk,
                term_id=_int(values["term_id"]) or 0,
                kind=values["kind"],
                amount=values["amount"] or None if values["kind"] == "reduce" else None,
                reason=values["reason"],
                document=request.FILES.get("document"),
            )
        except DomainError as exc:
            errors, message, status = _errors(exc), exc.message(), exc.status
        else:
            messages.success(request, gettext("减免申请已提交，学校审批后会通知您。"))
            return redirect("afterschool-child", student_id=child.pk)
    return render(
        request,
        "afterschool/family/exemption.html",
        {"child": child, "terms": terms, "values": values, "errors": errors, "message": message},
        status=status,
    )


@require_safe
@signed_in
def exemption_document(request, exemption_id: int):
    """The family's proof, for the child's guardians, the school's admins and the bureau's fee approvers only."""
    user = request.user
    row = (
        Exemption.objects.filter(pk=exemption_id)
        .filter(
            Q(student__guardians=user)
            | Q(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))
            | Q(school__town_id__in=scope.town_ids(user, *APPROVER_ROLES))
        )
        .exclude(document="")
        .distinct()
        .first()
    )
    if row is None:
        raise NotFound(_("材料不存在"))
    from core.audit import audit_log

    audit_log(actor=user, verb="afterschool.fee_exemption_document_viewed", obj=row, data={})
    ext = "pdf" if row.document_type == "application/pdf" else "jpg"
    return uploaded_file_response(
        row.document.open("rb"), content_type=row.document_type, filename=f"exemption-{row.pk}.{ext}"
    )


# --- The school's side: parents asking to follow a child -------------------------------------------------------------


@require_safe
@signed_in
def link_requests(request):
    """A school's admins: parents whose phone the class list does not name, to confirm (or not) one by one."""
    if not scope.school_ids(request.user, Role.SCHOOL_ADMIN):
        raise Http404
    from django.core.paginator import Paginator

    qs = (
        services.link_requests_for_admin(request.user)
        .select_related("parent", "school", "school_class", "student")
        .order_by("status", "-created_at", "-id")
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    classmates = services.link_request_candidates(page)
    rows = [{"r": r, "candidates": classmates.get(r.school_class_id, [])} for r in page]
    return render(request, "afterschool/family/link_requests.html", {"page": page, "rows": rows})


@require_http_methods(["POST"])
@signed_in
def link_decide(request, request_id: int):
    try:
        services.child_link_decide(
            actor=request.user,
            request_id=request_id,
            approve=request.POST.get("decision") == "confirm",
            student_id=_int(request.POST.get("student_id")),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.message())
    else:
        messages.success(request, gettext("已处理，家长会收到通知。"))
    return redirect("afterschool-link-requests")
