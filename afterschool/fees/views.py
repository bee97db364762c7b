"""Web pages of the fees (signed in with the web session): a school's terms with their money in and allocation runs,
a run with its lines, and the downloads (statements per person as PDF and xlsx, the school summary, the payroll
export). Same scope as the API: the school's admins and the bureau of its town see everything; a teacher or an
outside person their own line only; anyone else 404."""

from __future__ import annotations

from urllib.parse import quote

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from afterschool.schedule.models import Term
from afterschool.schedule.selectors import schools_visible_to
from afterschool.schedule.views import _signed_in
from core.audit import audit_log
from core.errors import DomainError

from . import allocation as fee_allocation
from . import exports as fee_exports
from .models import AllocationRun


def _run(user, run_id: int) -> AllocationRun:
    run = fee_allocation.runs_visible_to(user).select_related("school", "term").filter(pk=run_id).first()
    if run is None:
        raise Http404
    return run


@require_safe
@_signed_in
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
@_signed_in
def run_page(request, run_id: int):
    run = _run(request.user, run_id)
    sees_all = fee_allocation.sees_every_line(request.user, run)
    figures = [(label, getattr(run, key)) for key, label in fee_exports.FIGURE_LABELS]
    lines = [(ln, fee_exports.PAY_LABELS[ln.pay_type]) for ln in fee_allocation.lines_visible_to(request.user, run)]
    gaps = []
    if run.status == AllocationRun.Status.DRAFT and sees_all:
        gaps = fee_allocation.attendance_gaps([run.term], run.until, limit=20).get(run.term_id, [])
    return render(
        request,
        "afterschool/fees/run.html",
        {"run": run, "figures": figures, "lines": lines, "sees_all": sees_all, "gaps": gaps},
    )


def _download(request, run, content: bytes, content_type: str, filename: str, what: str, staff_id=None):
    audit_log(
        actor=request.user, verb="afterschool.allocation_exported", obj=run, data={"what": what, "staff_id": staff_id}
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@require_safe
@_signed_in
def statement(request, run_id: int, staff_id: int, fmt: str):
    if fmt not in ("pdf", "xlsx"):
        raise Http404
    run = _run(request.user, run_id)
    line = fee_allocation.lines_visible_to(request.user, run).filter(staff_id=staff_id).first()
    if line is None:
        raise Http404
    if fmt == "pdf":
        content, kind = fee_exports.statement_pdf(run, line), "application/pdf"
    else:
        content, kind = fee_exports.statement_xlsx(run, line), fee_exports.XLSX
    return _download(request, run, content, kind, f"结算单-{line.name}-{run.pk}.{fmt}", f"statement_{fmt}", staff_id)


@require_safe
@_signed_in
def school_document(request, run_id: int, what: str):
    if what not in ("summary", "payroll"):
        raise Http404
    run = _run(request.user, run_id)
    if not fee_allocation.sees_every_line(request.user, run):
        raise Http404
    if what == "payroll":
        try:
            content = fee_exports.payroll_xlsx(run)
        except DomainError as exc:
            return HttpResponse(exc.message_zh + " " + exc.message_en, status=409, content_type="text/plain")
        name = f"课后服务课酬发放表-{run.pk}.xlsx"
    else:
        content, name = fee_exports.summary_xlsx(run), f"课后服务费分配汇总-{run.pk}.xlsx"
    return _download(request, run, content, fee_exports.XLSX, name, what)
