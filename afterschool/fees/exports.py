"""Documents of an allocation run: a statement per person (PDF with weasyprint, and xlsx), the school's summary and
the payroll export (R-PAY-1: teachers' after-school pay is a separate performance-pay increment, not counted in next
year's base; outside personnel's is a labour fee)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from io import BytesIO

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from afterschool.schedule.models import Attendance, Kind
from core.errors import DomainError
from core.money import quantize

from .models import AllocationLine, AllocationRun, PayType

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Documents are written in one language, the requester's (the active one): labels are gettext messages.
PAY_LABELS = {
    PayType.PERFORMANCE: _("绩效工资（课后服务单列增量）"),
    PayType.LABOUR: _("劳务费"),
}
PAY_NOTES = {
    PayType.PERFORMANCE: _(
        "课后服务课酬作为绩效工资单列增量发放，不作为次年绩效工资总量核定基数（R-PAY-1）。"
    ),
    PayType.LABOUR: _("校外人员按实际授课课时及准入课酬标准以劳务费形式结算（R-PAY-1）。"),
}


def _programmes_of(run: AllocationRun, line: AllocationLine) -> list[dict]:
    """Lessons per programme of one person in the run's period (one query over their distinct lessons)."""
    per: dict = defaultdict(set)
    for s, d, name, kind in (
        Attendance.objects.filter(
            session__staff_id=line.staff_id, session__programme__term_id=run.term_id, date__lte=run.until
        )
        .values_list("session_id", "date", "session__programme__name", "session__programme__kind")
        .distinct()
    ):
        per[(name, kind)].add((s, d))
    labels = dict(Kind.choices)
    return [
        {
            "name": name,
            "kind_label": str(labels.get(kind, kind)),
            "lessons": len(held),
            "weight": run.kind_weights.get(kind, "1") if line.pay_type == PayType.PERFORMANCE else "—",
        }
        for (name, kind), held in sorted(per.items())
    ]


def _weasyprint_html():
    """weasyprint, imported on first use; its import turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES, which
    would let cut-off uploads through elsewhere: put it back (the statements embed no image)."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    from weasyprint import HTML

    ImageFile.LOAD_TRUNCATED_IMAGES = before
    return HTML


def statement_pdf(run: AllocationRun, line: AllocationLine) -> bytes:
    HTML = _weasyprint_html()  # noqa: N806

    html = render_to_string(
        "afterschool/fees/statement_pdf.html",
        {
            "run": run,
            "term": run.term,
            "school": run.school,
            "line": line,
            "programmes": _programmes_of(run, line),
            "pay_label": PAY_LABELS[line.pay_type],
            "pay_note": PAY_NOTES[line.pay_type],
            "generated": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
    )
    return HTML(string=html).write_pdf()


def _book():
    from openpyxl import Workbook

    return Workbook()


def _save(wb) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _cells(values: list) -> list:
    """A row for openpyxl: gettext_lazy labels as text in the active language."""
    return [str(v) if isinstance(v, Promise) else v for v in values]


def _money(v: Decimal | None):
    return v  # openpyxl writes Decimal as a number: sums in the sheet stay exact to the fen


def statement_xlsx(run: AllocationRun, line: AllocationLine) -> bytes:
    wb = _book()
    ws = wb.active
    ws.title = gettext("结算单")
    ws.append([gettext("学校"), run.school.name])
    ws.append([gettext("学期"), run.term.name])
    ws.append([gettext("分配批次"), run.pk, run.get_kind_display(), run.get_status_display()])
    ws.append([gettext("姓名"), line.name])
    ws.append(_cells([gettext("发放类别"), PAY_LABELS[line.pay_type]]))
    ws.append([])
    ws.append([gettext("项目"), gettext("类型"), gettext("课时"), gettext("权重")])
    for p in _programmes_of(run, line):
        ws.append([p["name"], p["kind_label"], p["lessons"], p["weight"]])
    ws.append([gettext("合计"), "", line.lessons, str(line.weighted_lessons)])
    ws.append([])
    if line.pay_type == PayType.LABOUR:
        ws.append([gettext("每课时标准"), _money(line.rate)])
    ws.append([gettext("应发金额"), _money(line.amount)])
    ws.append(_cells([gettext("说明"), PAY_NOTES[line.pay_type]]))
    return _save(wb)


FIGURE_LABELS = [
    ("fees", _("收费（减免后）")),
    ("refunds", pgettext_lazy("allocation figure", "退费")),
    ("subsidy", pgettext_lazy("allocation figure", "财政补助")),
    ("other", pgettext_lazy("allocation figure", "其他收入")),
    ("pool", _("可分配总额")),
    ("teacher_share", _("教师课酬")),
    ("outside_share", _("校外人员劳务费")),
    ("operations", _("运行成本")),
    ("reserve", _("预留")),
    ("outside_owed", _("校外人员应付")),
    ("outside_surplus", _("劳务费结余（转预留）")),
    ("teacher_unallocated", _("无课时未分配（转预留）")),
    ("shortfall", _("劳务费缺口")),
]


def summary_xlsx(run: AllocationRun) -> bytes:
    wb = _book()
    ws = wb.active
    ws.title = gettext("汇总")
    ws.append([gettext("学校"), run.school.name, gettext("学期"), run.term.name, gettext("截至"), run.until])
    ws.append([gettext("批次"), run.pk, run.get_kind_display(), run.get_status_display()])
    ws.append([gettext("比例（%）")] + [f"{k} {v}" for k, v in run.shares.items()])
    ws.append([])
    for key, label in FIGURE_LABELS:
        ws.append(_cells([label, _money(getattr(run, key))]))
    people = wb.create_sheet(gettext("明细"))
    people.append(
        [gettext("姓名"), gettext("发放类别"), gettext("课时"), gettext("折算课时"), gettext("标准"), gettext("金额")]
    )
    for ln in run.lines.all():
        weighted = str(ln.weighted_lessons)
        people.append(
            _cells([ln.name, PAY_LABELS[ln.pay_type], ln.lessons, weighted, _money(ln.rate), _money(ln.amount)])
        )
    return _save(wb)


def payroll_xlsx(run: AllocationRun) -> bytes:
    """For the finance office: only a locked run is paid."""
    if run.status != AllocationRun.Status.LOCKED:
        raise DomainError(
            "allocation.not_locked",
            _("分配锁定后才能导出工资表"),
            status=409,
        )
    wb = _book()
    ws = wb.active
    ws.title = gettext("发放表")
    ws.append(
        [
            gettext("序号"),
            gettext("姓名"),
            gettext("工资项目"),
            gettext("计入次年绩效工资基数"),
            gettext("课时"),
            gettext("金额"),
            gettext("说明"),
        ]
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for i, ln in enumerate(run.lines.all(), start=1):
        ws.append(
            _cells(
                [
                    i,
                    ln.name,
                    PAY_LABELS[ln.pay_type],
                    gettext("否") if ln.pay_type == PayType.PERFORMANCE else gettext("不适用"),
                    ln.lessons,
                    _money(ln.amount),
                    gettext("{school} {term} 课后服务").format(school=run.school.name, term=run.term.name),
                ]
            )
        )
        totals[ln.pay_type] += ln.amount
    ws.append([])
    for pay_type, label in PAY_LABELS.items():
        total = gettext("合计 {label}").format(label=label)
        ws.append(["", total, "", "", "", _money(quantize(totals[pay_type]))])
    return _save(wb)
