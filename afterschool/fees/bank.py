"""Payments read from the bank's statement (an xlsx export of the school's account, 对公账户流水).

A statement row is matched to a bill only when it says which one, never guessed:
1. its memo (附言/摘要) carries the bill's payment code (`KF` and the bill number, shown to parents on their bill), or
2. its memo names exactly one child holding a bill of the term, and the row's amount is exactly what that bill still
   owes.
Every other row (no code, an unknown code, two children of that name, a different amount, more than owed) is
listed with its line and the reason, and nothing is recorded for it. A malformed file (no header with a date, an
amount and a transaction number; a cell that is not a date or an amount) is refused whole, each bad cell named by
line and column. Matched rows are recorded through payment_record, so a statement imported twice records each
payment once (the transaction number names it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.audit import audit_log
from core.errors import DomainError
from core.money import ZERO, MoneyError, fmt, is_exact, to_decimal

from .models import Bill, Payment, Refund, SchoolAccount
from .permissions import access_term_for_admin
from .services import payment_record

MAX_ROWS = 5000
CODE = re.compile(r"KF\s*0*(\d{1,9})", re.I)
HEADERS = {
    "date": ("交易日期", "日期", "记账日期", "入账日期", "交易时间"),
    "amount": ("贷方金额", "收入金额", "入账金额", "金额", "收入"),
    "reference": ("交易流水号", "流水号", "凭证号", "交易参考号"),
    "payer": ("对方户名", "付款人", "付款人名称", "对方名称"),
    "memo": ("附言", "摘要", "用途", "备注"),
}
COLUMN_LABELS = {
    "date": _("交易日期"),
    "amount": _("金额"),
    "reference": _("流水号"),
}


def payment_code(bill: Bill) -> str:
    """What a parent writes in the transfer's memo so the school's statement names the bill."""
    return f"KF{bill.pk:06d}"


@dataclass
class Row:
    line: int
    day: date
    amount: Decimal
    reference: str
    payer: str
    memo: str
    bill: Bill | None = None
    reason: object = ""
    status: str = ""  # recorded, already, unmatched


@dataclass
class ImportResult:
    recorded: list[Row] = field(default_factory=list)
    already: list[Row] = field(default_factory=list)
    unmatched: list[Row] = field(default_factory=list)
    skipped: int = 0  # debit rows (money going out) and empty lines

    @property
    def total_recorded(self) -> Decimal:
        return sum((r.amount for r in self.recorded), ZERO)


def _refuse(message, fields=None) -> DomainError:
    return DomainError("fee.statement_invalid", message, status=422, fields=fields or {"file": message})


def _norm(value) -> str:
    return re.sub(r"\s+", "", str(value or "")).replace("（", "(").replace("）", ")").split("(")[0]


def _read(upload) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        raise _refuse(_("请上传银行导出的 .xlsx 流水文件"))
    try:
        book = load_workbook(upload, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = []
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if line > MAX_ROWS + 20:
                raise _refuse(format_lazy(_("流水超过 {n} 行，请按月份分开导入"), n=MAX_ROWS))
            rows.append((line, list(values)))
        book.close()
    except DomainError:
        raise
    except Exception:  # a corrupt workbook fails in many ways (zip, XML, styles)
        raise _refuse(_("无法读取该 Excel 文件（文件已损坏或格式不受支持）")) from None
    return rows


def _header(rows) -> tuple[int, dict[str, int]]:
    """The first row (of the first ten) naming a date, an amount and a reference column."""
    for index, (_line, values) in enumerate(rows[:10]):
        names = [_norm(v) for v in values]
        found = {}
        for key, options in HEADERS.items():
            for option in options:
                if option in names:
                    found[key] = names.index(option)
                    break
        if {"date", "amount", "reference"} <= set(found):
            return index, found
    raise _refuse(_("找不到表头：流水须有“交易日期”“金额（贷方金额）”“流水号”三列"))


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    text = str(value).replace(",", "").strip()  # a float cell is read from its text, never as a binary fraction
    try:
        amount = to_decimal(text)
    except (MoneyError, TypeError):
        return None
    return amount if is_exact(amount) else None


def parse_statement(upload) -> tuple[list[Row], int]:
    """(the credit rows, how many rows were skipped); a malformed file is refused with every bad cell."""
    rows = _read(upload)
    start, cols = _header(rows)
    errors: dict[str, str] = {}
    out: list[Row] = []
    skipped = 0
    for line, values in rows[start + 1 :]:
        if not any(v not in (None, "") for v in values):
            skipped += 1
            continue

        def cell(key, values=values):
            i = cols.get(key)
            return values[i] if i is not None and i < len(values) else None

        raw_amount = cell("amount")
        if raw_amount in (None, "") or str(raw_amount).strip() in ("0", "0.00", "-"):
            skipped += 1  # a debit row (money going out) has no credit amount
            continue
        day, amount, reference = _day(cell("date")), _amount(raw_amount), str(cell("reference") or "").strip()
        if day is None:
            errors[f"line {line}"] = str(format_lazy(_("第 {line} 行“{column}”不是日期"), line=line,
                                                     column=COLUMN_LABELS["date"]))  # fmt: skip
        elif amount is None:
            errors[f"line {line}"] = str(
                format_lazy(
                    _("第 {line} 行“{column}”不是金额（最多两位小数）"), line=line, column=COLUMN_LABELS["amount"]
                )
            )
        elif not reference:
            errors[f"line {line}"] = str(format_lazy(_("第 {line} 行缺少“{column}”"), line=line,
                                                     column=COLUMN_LABELS["reference"]))  # fmt: skip
        elif amount < 0:
            skipped += 1
        else:
            out.append(Row(line, day, amount, reference[:60], str(cell("payer") or "")[:100],
                           str(cell("memo") or "")[:200]))  # fmt: skip
    if errors:
        raise DomainError(
            "fee.statement_invalid",
            format_lazy(_("流水文件有 {n} 处错误，未导入任何记录"), n=len(errors)),
            status=422,
            fields=errors,
        )
    return out, skipped


def _owed(bills: list[Bill]) -> dict[int, Decimal]:
    ids = [b.pk for b in bills]
    paid = dict(Payment.objects.filter(bill_id__in=ids).values("bill_id").annotate(s=Sum("amount")).values_list(
        "bill_id", "s"))  # fmt: skip
    refunded = dict(Refund.objects.filter(bill_id__in=ids).values("bill_id").annotate(s=Sum("amount")).values_list(
        "bill_id", "s"))  # fmt: skip
    return {b.pk: b.amount - (paid.get(b.pk) or ZERO) - (refunded.get(b.pk) or ZERO) for b in bills}


def match(rows: list[Row], bills: list[Bill], account: SchoolAccount) -> None:
    """Set each row's bill (or its reason for having none); the bills are the term's, with their students."""
    by_id = {b.pk: b for b in bills}
    by_name: dict[str, list[Bill]] = {}
    for b in bills:
        by_name.setdefault(b.student.name, []).append(b)
    owed = _owed(bills)
    known = dict(Payment.objects.filter(account=account, reference__in=[r.reference for r in rows]).values_list(
        "reference", "bill_id"))  # fmt: skip
    for r in rows:
        if r.reference in known:
            r.bill, r.status = by_id.get(known[r.reference]), "already"
            r.reason = _("已登记（同一流水号）")
            continue
        code = CODE.search(r.memo) or CODE.search(r.payer)
        if code:
            bill = by_id.get(int(code.group(1)))
            if bill is None:
                r.status, r.reason = "unmatched", format_lazy(_("缴费码 {code} 不是本学期的账单"), code=code.group(0))
                continue
        else:
            named = [b for name, found in by_name.items() if name and name in r.memo for b in found]
            if not named:
                r.status, r.reason = "unmatched", _("附言中没有缴费码或本学期账单上的学生姓名")
                continue
            if len(named) > 1:
                r.status, r.reason = "unmatched", _("附言中的姓名对应多张账单，请按缴费码核对后手工登记")
                continue
            bill = named[0]
            if r.amount != owed[bill.pk]:
                r.status = "unmatched"
                r.reason = format_lazy(
                    _("金额 {amount} 元与{name}尚欠的 {owed} 元不符，请核对后手工登记"),
                    amount=fmt(r.amount), name=bill.student.name, owed=fmt(owed[bill.pk]),
                )  # fmt: skip
                continue
        if r.amount > owed[bill.pk]:
            r.status = "unmatched"
            r.reason = format_lazy(_("超出该账单尚欠金额（{owed} 元）"), owed=fmt(owed[bill.pk]))
            continue
        r.bill, r.status = bill, "matched"
        owed[bill.pk] -= r.amount


def payments_import(*, actor, term_id: int, account_id: int, upload) -> ImportResult:
    """Read the statement, record the rows that name a bill of the term, list the others (see the module)."""
    term = access_term_for_admin(actor, term_id)
    account = SchoolAccount.objects.filter(pk=account_id, school_id=term.school_id).first()
    if account is None:
        raise DomainError(
            "fee.account_not_school",
            _("请选择本校的收费账户"),
            status=422,
            fields={"account_id": _("请选择本校的收费账户")},
        )
    rows, skipped = parse_statement(upload)
    bills = list(Bill.objects.filter(term=term).select_related("student"))
    match(rows, bills, account)
    result = ImportResult(skipped=skipped)
    with transaction.atomic():
        for r in rows:
            if r.status == "matched" and r.day > term.ends_on:
                r.status, r.reason = "unmatched", _("缴费日期晚于学期结束，不得跨学期预收")
            if r.status == "matched":
                payment_record(actor=actor, bill_id=r.bill.pk, account_id=account.pk, amount=r.amount,
                               paid_on=r.day, reference=r.reference)  # fmt: skip
                r.status = "recorded"
                result.recorded.append(r)
            elif r.status == "already":
                result.already.append(r)
            else:
                result.unmatched.append(r)
        audit_log(
            actor=actor,
            verb="afterschool.fee_statement_imported",
            obj=term,
            data={
                "account_id": account.pk,
                "recorded": len(result.recorded),
                "already": len(result.already),
                "unmatched": [r.line for r in result.unmatched],
                "total": fmt(result.total_recorded),
            },
        )
    return result
