"""A school's admin closes a term's fees in the browser's pages (Django test client): the rate, bills (and the prompt
to issue them again after enrolments change), exemptions, the bank statement import (rows naming no bill listed, a
malformed file refused whole), the allocation's review, the bureau's approval and locking, the statements and the
payroll export (finance columns, totals, numbers with two decimals); others get 404."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from afterschool.fees.bank import payment_code
from afterschool.fees.models import AllocationRun, Bill, Payment, SchoolAccount
from core.models import AuditEvent
from tests.afterschool.test_fee_helpers import TERM_START, build_term, bureau_of_town, take_attendance
from tests.conftest import client_for
from tests.factories import EnrolmentFactory, ExemptionFactory

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def scene(school_x, class_x, teacher_x, teacher_x2, parent):
    return build_term(school_x, class_x, teacher_x, teacher_x2, parent)


@pytest.fixture
def town_bureau(school_x):
    return bureau_of_town(school_x.town)


def _url(scene, action=""):
    return f"/afterschool/fees/terms/{scene.term.pk}/{action}"


def statement(rows, header=("交易日期", "贷方金额", "交易流水号", "对方户名", "附言")) -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append(["XX银行 对公账户交易明细"])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = BytesIO()
    wb.save(out)
    return SimpleUploadedFile("流水.xlsx", out.getvalue(), content_type=XLSX)


def test_the_term_page_is_for_the_schools_admins_and_the_towns_fee_approvers(
    scene, school_admin_x, school_admin_y, town_bureau, teacher_x, parent, inspector_a
):
    assert client_for(school_admin_x).get(_url(scene)).status_code == 200
    html = client_for(town_bureau).get(_url(scene)).content.decode()
    assert 'data-testid="subsidy-form"' in html and 'data-testid="rate-save"' not in html
    for outsider in (school_admin_y, teacher_x, parent, inspector_a):
        assert client_for(outsider).get(_url(scene)).status_code == 404
        assert client_for(outsider).post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3"}).status_code == 404
    # The school may not enter the subsidy (the bureau's), the bureau may not set the rate (the school's).
    assert client_for(school_admin_x).post(_url(scene, "add_subsidy"), {"amount": "10"}).status_code == 404
    assert client_for(town_bureau).post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3"}).status_code == 404


def test_a_rate_with_three_decimals_says_at_most_two(scene, school_admin_x):
    r = client_for(school_admin_x).post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3.005"})
    assert r.status_code == 422 and "最多两位小数" in r.content.decode()
    assert not hasattr(scene.term, "fee_rate") or scene.term.fee_rate is None


def test_bills_then_the_prompt_to_issue_again_when_enrolments_change(scene, school_admin_x, class_x, school_x):
    c = client_for(school_admin_x)
    assert c.post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3.00"}).status_code == 302
    assert c.post(_url(scene, "issue_bills")).status_code == 302
    assert Bill.objects.filter(term=scene.term).count() == 3
    html = c.get(_url(scene)).content.decode()
    assert 'data-testid="bills-stale"' not in html
    # A new child enrolled after the bills went out: the page asks for the bills to be issued again.
    from tests.afterschool.conftest import make_student

    late = make_student(school_x, class_x, "陈小新")
    EnrolmentFactory(student=late, programme=scene.care_mon.programme, active_from=TERM_START)
    html = c.get(_url(scene)).content.decode()
    assert 'data-testid="bills-stale"' in html and "新增 1 人" in html
    c.post(_url(scene, "issue_bills"))
    assert Bill.objects.filter(term=scene.term).count() == 4
    assert 'data-testid="bills-stale"' not in c.get(_url(scene)).content.decode()
    bills = c.get(_url(scene, "bills/")).content.decode()
    assert "陈小新" in bills and payment_code(Bill.objects.get(student=late)) in bills


def test_an_exemption_is_decided_on_the_page_and_blocks_bills_until_then(scene, school_admin_x, parent):
    c = client_for(school_admin_x)
    c.post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3.00"})
    e = ExemptionFactory(student=scene.c1, term=scene.term, school=scene.term.school, kind="exempt", applied_by=parent)
    r = c.post(_url(scene, "issue_bills"))
    assert r.status_code == 409 and "有减免申请尚未审批" in r.content.decode()
    c.post(_url(scene, "decide_exemption"), {"exemption_id": e.pk, "decision": "approve"})
    e.refresh_from_db()
    assert e.status == "approved"
    c.post(_url(scene, "issue_bills"))
    assert Bill.objects.get(student=scene.c1).amount == Decimal("0.00")


def _billed(scene, school_admin_x) -> tuple[Client, SchoolAccount]:
    c = client_for(school_admin_x)
    c.post(_url(scene, "rate"), {"basis": "per_lesson", "amount": "3.00"})
    c.post(_url(scene, "issue_bills"))
    r = c.post(_url(scene, "add_account"), {"bank": "重庆农商行涪陵支行", "account_name": scene.term.school.name,
                                            "account_number": "6228480012345678"})  # fmt: skip
    assert r.status_code == 302
    return c, SchoolAccount.objects.get()


def test_a_bank_statement_is_imported_and_rows_naming_no_bill_are_listed(scene, school_admin_x):
    c, account = _billed(scene, school_admin_x)
    b1, b2, b3 = (Bill.objects.get(student=s) for s in (scene.c1, scene.c2, scene.c3))
    rows = [
        ("2026-09-08", str(b1.amount), "T0001", "张女士", f"课后服务费 {payment_code(b1)}"),  # by code
        ("2026/09/09", str(b2.amount), "T0002", "李先生", "李小红 课后服务费"),  # by a unique name, the exact amount
        ("2026-09-09", "17.00", "T0003", "王先生", "王小刚 课后服务"),  # the name, but not the amount owed
        ("2026-09-10", "30.00", "T0004", "某人", "转账"),  # nothing names a bill
        ("2026-09-10", "12.00", "T0005", "某人", "KF999999"),  # an unknown code
        ("2026-09-11", None, "T0006", "学校", "手续费"),  # a debit row: skipped
    ]
    r = c.post(_url(scene, "import_statement"), {"account_id": account.pk, "file": statement(rows)})
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="import-result"' in html
    assert html.count('data-testid="unmatched-row"') == 3
    assert "第 5 行" in html and "与王小刚尚欠的" in html and "没有缴费码" in html and "KF999999" in html
    assert set(Payment.objects.values_list("reference", flat=True)) == {"T0001", "T0002"}
    assert Payment.objects.get(reference="T0001").bill == b1
    assert Payment.objects.get(reference="T0002").paid_on == date(2026, 9, 9)
    assert AuditEvent.objects.filter(verb="afterschool.fee_statement_imported").count() == 1
    # The same statement again: nothing recorded twice.
    r = c.post(_url(scene, "import_statement"), {"account_id": account.pk, "file": statement(rows)})
    assert Payment.objects.count() == 2 and "已登记过 2 笔" in r.content.decode()


def test_a_malformed_statement_is_refused_whole(scene, school_admin_x):
    c, account = _billed(scene, school_admin_x)
    b1 = Bill.objects.get(student=scene.c1)
    rows = [
        ("2026-09-08", str(b1.amount), "T0001", "张女士", payment_code(b1)),
        ("不是日期", "10.00", "T0002", "", ""),
        ("2026-09-09", "10.005", "T0003", "", ""),
    ]
    r = c.post(_url(scene, "import_statement"), {"account_id": account.pk, "file": statement(rows)})
    html = r.content.decode()
    assert r.status_code == 422 and "第 4 行" in html and "第 5 行" in html and "最多两位小数" in html
    assert not Payment.objects.exists()
    no_header = statement([("x",)], header=("日期", "备注"))
    r = c.post(_url(scene, "import_statement"), {"account_id": account.pk, "file": no_header})
    assert r.status_code == 422 and "找不到表头" in r.content.decode()
    text = SimpleUploadedFile("a.xlsx", b"not a workbook", content_type=XLSX)
    r = c.post(_url(scene, "import_statement"), {"account_id": account.pk, "file": text})
    assert r.status_code == 422 and not Payment.objects.exists()


def test_the_allocation_is_reviewed_approved_locked_and_the_payroll_exported(scene, school_admin_x, town_bureau):
    c, _account = _billed(scene, school_admin_x)
    take_attendance(scene)
    client_for(town_bureau).post(_url(scene, "add_subsidy"), {"amount": "1000.00", "note": "生均补助"})
    r = c.post(_url(scene, "set_plan"), {"teacher": "60", "outside": "20", "operations": "15", "reserve": "4"})
    assert r.status_code == 422 and "100" in r.content.decode()
    c.post(_url(scene, "set_plan"), {"teacher": "60", "outside": "20", "operations": "15", "reserve": "5"})
    r = c.post(_url(scene, "compute"), {"until": "2026-09-18"})
    run = AllocationRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/afterschool/fees/runs/{run.pk}/"
    page = c.get(f"/afterschool/fees/runs/{run.pk}/").content.decode()
    assert 'data-testid="run-review"' in page
    # The bureau cannot review, the school cannot approve: 404 / refused.
    bureau = client_for(town_bureau)
    assert 'data-testid="run-review"' not in bureau.get(f"/afterschool/fees/runs/{run.pk}/").content.decode()
    c.post(f"/afterschool/fees/runs/{run.pk}/review")
    c.post(f"/afterschool/fees/runs/{run.pk}/approve")
    assert AllocationRun.objects.get().status == "reviewed"
    approvals = bureau.get("/afterschool/fees/approvals/").content.decode()
    assert scene.term.name in approvals and f"/afterschool/fees/runs/{run.pk}/" in approvals
    bureau.post(f"/afterschool/fees/runs/{run.pk}/approve")
    bureau.post(f"/afterschool/fees/runs/{run.pk}/lock")
    assert AllocationRun.objects.get().status == "locked"
    page = c.get(f"/afterschool/fees/runs/{run.pk}/").content.decode()
    assert 'data-testid="payroll"' in page and 'data-testid="pdf"' in page
    payroll = c.get(f"/afterschool/fees/runs/{run.pk}/payroll.xlsx")
    assert payroll.status_code == 200
    ws = load_workbook(BytesIO(payroll.content)).active
    rows = list(ws.iter_rows(values_only=True))
    headings = rows[3]
    wanted = ("姓名", "人员类别", "工资项目", "派出机构", "身份证号（后四位）", "课时", "每课时标准（元）",
              "金额（元）")  # fmt: skip
    for column in wanted:
        assert column in headings, column
    amount_col = headings.index("金额（元）")
    people = [r for r in rows[4:] if r and isinstance(r[0], int)]
    assert {r[1] for r in people} == {"王老师", "赵老师", "马画师"}
    total_row = next(r for r in rows if r and r[1] == "总计")
    total = sum(Decimal(str(r[amount_col])) for r in people)
    assert Decimal(str(total_row[amount_col])) == total
    assert any(r and str(r[1]).startswith("合计") for r in rows)
    # Amounts are numbers (not text) shown with two decimals.
    for row in ws.iter_rows(min_row=5):
        cell = row[amount_col]
        if cell.value is not None:
            assert isinstance(cell.value, int | float) and cell.number_format == "#,##0.00"
    outside = next(r for r in people if r[1] == "马画师")
    assert outside[6] == "****0001"


def test_the_bureau_approvals_page_is_the_bureaus(school_admin_x, teacher_x, parent, town_bureau):
    for outsider in (school_admin_x, teacher_x, parent):
        assert client_for(outsider).get("/afterschool/fees/approvals/").status_code == 404
    assert client_for(town_bureau).get("/afterschool/fees/approvals/").status_code == 200


def test_the_term_page_costs_the_same_queries_whatever_the_number_of_bills(
    scene, school_admin_x, school_x, class_x, django_assert_max_num_queries
):
    from tests.afterschool.conftest import make_student

    c, _account = _billed(scene, school_admin_x)
    c.get(_url(scene))
    with django_assert_max_num_queries(60) as few:
        c.get(_url(scene))
    n = len(few.captured_queries)  # read now: the next request resets the connection's query log
    for i in range(10):
        kid = make_student(school_x, class_x, f"学生{i}")
        EnrolmentFactory(student=kid, programme=scene.care_mon.programme, active_from=TERM_START)
    c.post(_url(scene, "issue_bills"))
    with django_assert_max_num_queries(n):
        assert c.get(_url(scene)).status_code == 200
