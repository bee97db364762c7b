"""Documents of an allocation run: a statement per person (PDF with weasyprint, and xlsx), the school's summary and
the payroll export (R-PAY-1: teachers' after-school pay is a separate performance-pay increment, not counted in next
year's base; outside personnel's is a labour fee)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from io import BytesIO

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from afterschool.schedule.models import Attendance, Kind
from core.errors import DomainError
from core.money import quantize

from .models import AllocationLine, AllocationRun, PayType

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAY_LABELS = {
    PayType.PERFORMANCE: "绩效工资（课后服务单列增量）",
    PayType.LABOUR: "劳务费",
}
PAY_NOTES = {
    PayType.PERFORMANCE: "课后服务课酬作为绩效工资单列增量发放，不作为次年绩效工资总量核定基数（R-PAY-1）。"
    "After-school pay is a separate increment of performance pay, not counted in next year's base.",
    PayType.LABOUR: "校外人员按实际授课课时及准入课酬标准以劳务费形式结算（R-PAY-1）。"
    "Outside personnel are paid labour fees per lesson delivered at their admitted rate.",
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


def _money(v: Decimal | None):
    return v  # openpyxl writes Decimal as a number: sums in the sheet stay exact to the fen


def statement_xlsx(run: AllocationRun, line: AllocationLine) -> bytes:
    wb = _book()
    ws = wb.active
    ws.title = "结算单 Statement"
    ws.append(["学校 School", run.school.name])
    ws.append(["学期 Term", run.term.name])
    ws.append(["分配批次 Run", run.pk, run.get_kind_display(), run.get_status_display()])
    ws.append(["姓名 Name", line.name])
    ws.append(["发放类别 Pay type", PAY_LABELS[line.pay_type]])
    ws.append([])
    ws.append(["项目 Programme", "类型 Kind", "课时 Lessons", "权重 Weight"])
    for p in _programmes_of(run, line):
        ws.append([p["name"], p["kind_label"], p["lessons"], p["weight"]])
    ws.append(["合计 Total", "", line.lessons, str(line.weighted_lessons)])
    ws.append([])
    if line.pay_type == PayType.LABOUR:
        ws.append(["每课时标准 Rate", _money(line.rate)])
    ws.append(["应发金额 Amount", _money(line.amount)])
    ws.append(["说明 Note", PAY_NOTES[line.pay_type]])
    return _save(wb)


FIGURE_LABELS = [
    ("fees", "收费（减免后）Fees charged"),
    ("refunds", "退费 Refunds"),
    ("subsidy", "财政补助 Subsidy"),
    ("other", "其他收入 Other income"),
    ("pool", "可分配总额 Pool"),
    ("teacher_share", "教师课酬 Teacher pay"),
    ("outside_share", "校外人员劳务费 Outside personnel"),
    ("operations", "运行成本 Operations"),
    ("reserve", "预留 Reserve"),
    ("outside_owed", "校外人员应付 Outside personnel owed"),
    ("outside_surplus", "劳务费结余（转预留）Outside surplus to reserve"),
    ("teacher_unallocated", "无课时未分配（转预留）Teacher share unallocated"),
    ("shortfall", "劳务费缺口 Shortfall"),
]


def summary_xlsx(run: AllocationRun) -> bytes:
    wb = _book()
    ws = wb.active
    ws.title = "汇总 Summary"
    ws.append(["学校 School", run.school.name, "学期 Term", run.term.name, "截至 Until", run.until])
    ws.append(["批次 Run", run.pk, run.get_kind_display(), run.get_status_display()])
    ws.append(["比例 Shares %"] + [f"{k} {v}" for k, v in run.shares.items()])
    ws.append([])
    for key, label in FIGURE_LABELS:
        ws.append([label, _money(getattr(run, key))])
    people = wb.create_sheet("明细 Lines")
    people.append(["姓名 Name", "发放类别 Pay type", "课时 Lessons", "折算课时 Weighted", "标准 Rate", "金额 Amount"])
    for ln in run.lines.all():
        people.append(
            [ln.name, PAY_LABELS[ln.pay_type], ln.lessons, str(ln.weighted_lessons), _money(ln.rate), _money(ln.amount)]
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
    ws.title = "发放表 Payroll"
    ws.append(
        [
            "序号 No.",
            "姓名 Name",
            "工资项目 Pay item",
            "计入次年绩效工资基数 In next year's base",
            "课时 Lessons",
            "金额 Amount",
            "说明 Note",
        ]
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for i, ln in enumerate(run.lines.all(), start=1):
        ws.append(
            [
                i,
                ln.name,
                PAY_LABELS[ln.pay_type],
                "否 No" if ln.pay_type == PayType.PERFORMANCE else "不适用 n/a",
                ln.lessons,
                _money(ln.amount),
                f"{run.school.name} {run.term.name} 课后服务",
            ]
        )
        totals[ln.pay_type] += ln.amount
    ws.append([])
    for pay_type, label in PAY_LABELS.items():
        ws.append(["", f"合计 {label}", "", "", "", _money(quantize(totals[pay_type]))])
    return _save(wb)
