"""Web pages of the fees (signed in with the web session): a school's terms with their money in and allocation runs,
a run with its lines, and the downloads (statements per person as PDF and xlsx, the school summary, the payroll
export). Same scope as the API: the school's admins and the bureau of its town see everything; a teacher or an
outside person their own line only; anyone else 404."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from afterschool.schedule.models import WEEKDAY_LABELS, Application, Attendance, Session, Term
from afterschool.schedule.selectors import children_of, schools_visible_to
from afterschool.schedule.views import signed_in
from core.errors import DomainError

from . import allocation as fee_allocation
from . import exports as fee_exports
from . import permissions
from . import services as fee_services
from .models import AllocationRun, Bill, Exemption, PayType

# The run page's labels, one language at a time (the exports keep their two-language headings).
FIGURE_LABELS = {
    "fees": _("收费（减免后）"),
    "refunds": _("退费"),
    "subsidy": _("财政补助"),
    "other": _("其他收入"),
    "pool": _("可分配总额"),
    "teacher_share": _("教师课酬"),
    "outside_share": _("校外人员劳务费"),
    "operations": _("运行成本"),
    "reserve": _("预留"),
    "outside_owed": _("校外人员应付"),
    "outside_surplus": _("劳务费结余（转预留）"),
    "teacher_unallocated": _("无课时未分配（转预留）"),
    "shortfall": _("劳务费缺口"),
}
PAY_LABELS = {
    PayType.PERFORMANCE: _("绩效工资（课后服务单列增量）"),
    PayType.LABOUR: _("劳务费"),
}


def _run(user, run_id: int) -> AllocationRun:
    return permissions.access_run(user, run_id)


@require_safe
@signed_in
def terms(request):
    """Terms of the schools the user may read, with their allocation runs."""
    rows = (
        Term.objects.filter(school__in=schools_visible_to(request.user))
        .select_related("school", "fee_rate")
        .prefetch_related("allocation_runs")
        .order_by("school__name", "-starts_on")
    )
    return render(request, "afterschool/fees/terms.html", {"terms": rows})


@require_safe
@signed_in
def run_page(request, run_id: int):
    run = _run(request.user, run_id)
    sees_all = permissions.sees_every_line(request.user, run)
    figures = [(FIGURE_LABELS.get(key, label), getattr(run, key)) for key, label in fee_exports.FIGURE_LABELS]
    lines = [(ln, PAY_LABELS.get(ln.pay_type, ln.pay_type)) for ln in permissions.lines_visible_to(request.user, run)]
    gaps = []
    if run.status == AllocationRun.Status.DRAFT and sees_all:
        gaps = fee_allocation.attendance_gaps([run.term], run.until, limit=20).get(run.term_id, [])
    shares = [(FIGURE_LABELS.get(f"{k}_share") or FIGURE_LABELS.get(k, k), v) for k, v in (run.shares or {}).items()]
    from .pages import run_actions

    return render(
        request,
        "afterschool/fees/run.html",
        {"run": run, "figures": figures, "lines": lines, "sees_all": sees_all, "gaps": gaps, "shares": shares,
         "actions": run_actions(request.user, run)},
    )  # fmt: skip


def _download(request, run, content: bytes, content_type: str, filename: str, what: str, staff_id=None):
    fee_services.allocation_export_record(actor=request.user, run=run, what=what, staff_id=staff_id)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@require_safe
@signed_in
def statement(request, run_id: int, staff_id: int, fmt: str):
    if fmt not in ("pdf", "xlsx"):
        raise Http404
    run, line = permissions.access_statement(request.user, run_id, staff_id)
    if fmt == "pdf":
        content, kind = fee_exports.statement_pdf(run, line), "application/pdf"
    else:
        content, kind = fee_exports.statement_xlsx(run, line), fee_exports.XLSX
    name = f"{_('结算单')}-{line.name}-{run.pk}.{fmt}"
    return _download(request, run, content, kind, name, f"statement_{fmt}", staff_id)


@require_safe
@signed_in
def school_document(request, run_id: int, what: str):
    if what not in ("summary", "payroll"):
        raise Http404
    run = permissions.access_pay_documents(request.user, run_id)
    if what == "payroll":
        try:
            content = fee_exports.payroll_xlsx(run)
        except DomainError as exc:
            return HttpResponse(exc.message(), status=409, content_type="text/plain")
        name = f"{_('课后服务课酬发放表')}-{run.pk}.xlsx"
    else:
        content, name = fee_exports.summary_xlsx(run), f"{_('课后服务费分配汇总')}-{run.pk}.xlsx"
    return _download(request, run, content, fee_exports.XLSX, name, what)


@require_safe
@signed_in
def my_children(request):
    """A parent's phone page: each child's weekly after-school timetable, the last 30 days of attendance, and the
    fees: each term's bill with its reduction, refunds and payments, and the reductions applied for."""
    today = timezone.localdate()
    children = list(children_of(request.user).select_related("school_class", "school").order_by("name"))
    enrolments = Application.objects.filter(
        Q(active_until_excl__isnull=True) | Q(active_until_excl__gt=today),
        student__in=children,
        status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN],
        active_from__isnull=False,
    ).values_list("student_id", "programme_id")
    programmes_of: dict[int, set[int]] = {}
    for student_id, programme_id in enrolments:
        programmes_of.setdefault(student_id, set()).add(programme_id)
    sessions = list(
        Session.objects.filter(
            programme_id__in={p for ps in programmes_of.values() for p in ps}, last_date__gte=today
        ).select_related("programme", "room", "staff")
    )
    marks = list(
        Attendance.objects.filter(student__in=children, date__gte=today - timedelta(days=30))
        .select_related("session__programme")
        .order_by("-date", "session__starts_at")
    )
    pending = Application.objects.filter(student__in=children, status__in=Application.LIVE).exclude(
        status=Application.Status.APPROVED
    )
    pending_of: dict[int, list] = {}
    for a in pending.select_related("programme"):
        pending_of.setdefault(a.student_id, []).append(a)
    bills_of: dict[int, list] = {}
    for bill in (
        Bill.objects.filter(student__in=children)
        .select_related("term")
        .prefetch_related("refunds", "payments")
        .order_by("-term__starts_on")
    ):
        bills_of.setdefault(bill.student_id, []).append(bill)
    exemptions_of: dict[int, list] = {}
    for exemption in Exemption.objects.filter(student__in=children).select_related("term").order_by("-applied_at"):
        exemptions_of.setdefault(exemption.student_id, []).append(exemption)
    labels = [str(label) for label in WEEKDAY_LABELS]
    cards = []
    for child in children:
        mine = sorted(
            (s for s in sessions if s.programme_id in programmes_of.get(child.pk, set())),
            key=lambda s: (s.weekday, s.starts_at),
        )
        cards.append(
            {
                "child": child,
                "days": [{"label": labels[w], "sessions": [s for s in mine if s.weekday == w]} for w in range(5)],
                "marks": [m for m in marks if m.student_id == child.pk],
                "pending": pending_of.get(child.pk, []),
                "bills": bills_of.get(child.pk, []),
                "exemptions": exemptions_of.get(child.pk, []),
            }
        )
    return render(request, "afterschool/my_children.html", {"cards": cards})
