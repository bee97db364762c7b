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


MONEY_FORMAT = "#,##0.00"


def _money_cell(ws, row: int, column: int, value: Decimal | None) -> None:
    """An amount as a number with two decimals: quantized to the fen and shown as 0.00 (finance offices sum them)."""
    cell = ws.cell(row=row, column=column)
    if value is None:
        cell.value = None
        return
    cell.value = quantize(value)
    cell.number_format = MONEY_FORMAT


def payroll_xlsx(run: AllocationRun) -> bytes:
    """For the finance office: only a locked run is paid. One row per person with what payroll needs (staff kind,
    pay item, whether it counts in next year's base, the sending institution, masked ID and phone for outside
    personnel, lessons, rate, amount, the period), then a total per pay item and a grand total. Amounts are numbers
    to the fen formatted 0.00, never text."""
    if run.status != AllocationRun.Status.LOCKED:
        raise DomainError(
            "allocation.not_locked",
            _("分配锁定后才能导出工资表"),
            status=409,
        )
    wb = _book()
    ws = wb.active
    ws.title = gettext("发放表")
    ws.append([gettext("学校"), run.school.name, gettext("学期"), run.term.name])
    ws.append([gettext("计算期间"), f"{run.term.starts_on} – {run.until}", gettext("分配批次"), run.pk,
               str(run.get_kind_display()), str(run.get_status_display())])  # fmt: skip
    ws.append([])
    headings = [
        gettext("序号"),
        gettext("姓名"),
        gettext("人员类别"),
        gettext("工资项目"),
        gettext("计入次年绩效工资基数"),
        gettext("派出机构"),
        gettext("身份证号（后四位）"),
        gettext("手机号"),
        gettext("课时"),
        gettext("每课时标准（元）"),
        gettext("金额（元）"),
        gettext("说明"),
    ]
    ws.append(headings)
    rate_col, amount_col = headings.index(gettext("每课时标准（元）")) + 1, headings.index(gettext("金额（元）")) + 1
    lines = list(run.lines.select_related("staff__outside_person", "staff__user").order_by("pay_type", "name", "pk"))
    institutions = _sending_institutions(run, [ln.staff for ln in lines])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    note = gettext("{school} {term} 课后服务").format(school=run.school.name, term=run.term.name)
    for i, ln in enumerate(lines, start=1):
        person = ln.staff.outside_person if ln.staff.kind == "outside" else None
        phone = (person.phone if person else getattr(ln.staff.user, "phone", "")) or ""
        ws.append(
            _cells(
                [
                    i,
                    ln.name,
                    ln.staff.get_kind_display(),
                    PAY_LABELS[ln.pay_type],
                    gettext("否") if ln.pay_type == PayType.PERFORMANCE else gettext("不适用"),
                    institutions.get(ln.staff_id, ""),
                    f"****{person.id_last4}" if person else "",
                    f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "",
                    ln.lessons,
                    None,
                    None,
                    note,
                ]
            )
        )
        _money_cell(ws, ws.max_row, rate_col, ln.rate)
        _money_cell(ws, ws.max_row, amount_col, ln.amount)
        totals[ln.pay_type] += ln.amount
    ws.append([])
    for pay_type, label in PAY_LABELS.items():
        ws.append(["", gettext("合计 {label}").format(label=label)])
        _money_cell(ws, ws.max_row, amount_col, totals[pay_type])
    ws.append(["", gettext("总计"), "", "", "", "", "", "", sum(ln.lessons for ln in lines)])
    _money_cell(ws, ws.max_row, amount_col, sum(totals.values(), Decimal(0)))
    widths = {1: 6, 2: 12, 3: 10, 4: 26, 5: 10, 6: 22, 7: 12, 8: 14, 9: 8, 10: 14, 11: 14, 12: 30}
    for col, width in widths.items():
        ws.column_dimensions[chr(64 + col)].width = width
    return _save(wb)


def _sending_institutions(run: AllocationRun, staff: list) -> dict[int, str]:
    """{staff id: the institution that sent the outside person to this school}, from their admissions (one query)."""
    from afterschool.admission.models import Admission

    people = {s.outside_person_id: s.pk for s in staff if s.outside_person_id}
    if not people:
        return {}
    out: dict[int, str] = {}
    for person_id, name in (
        Admission.objects.filter(person_id__in=people, school_id=run.school_id, institution__isnull=False)
        .order_by("created_at")
        .values_list("person_id", "institution__name")
    ):
        out[people[person_id]] = name
    return out
