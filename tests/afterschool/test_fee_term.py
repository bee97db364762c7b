"""One school's whole term, from the rate to the payroll export, through the API; every total checked against figures
computed by hand (written below as literals).

Term 7–18 Sep 2026 (10 school days). Lessons planned: care Mon+Tue+Wed = 6, reading Thu = 2, arts Fri = 2.
Rate 3.00 yuan per student per lesson.
Bills: c1 care 6 + arts 2 = 8 × 3 = 24.00; c2 care 6 × 3 = 18.00; c3 care 6 + reading 2 = 8 × 3 = 24.00 less an
approved reduction of 10.00 = 14.00. Fees charged 56.00.
c2 withdraws on Fri 11 Sep, effective Mon 14 Sep: care lessons not attended 14, 15, 16 Sep = 3 × 3 = 9.00 refunded.
Subsidy 1000.00 (bureau), other income 12.01. Pool = 56.00 − 9.00 + 1000.00 + 12.01 = 1059.01.
Plan 60 / 20 / 15 / 5 → in fen 105901 × .60 = 63540.6, × .20 = 21180.2, × .15 = 15885.15, × .05 = 5295.05; floors
sum 105900, the one fen left goes to the largest remainder (.6, teachers): 635.41 / 211.80 / 158.85 / 52.95.
Teachers: 王老师 care Mon+Wed 4 lessons × 1 = 4; 赵老师 care Tue 2 × 1 + reading Thu 2 × 1.5 = 5; total 9.
63541 × 4/9 = 28240.44, × 5/9 = 35300.56 → floors 28240 + 35300, one fen to the larger remainder (赵): 282.40 and
353.01. Outside: 马画师 2 lessons × 50.00 = 100.00 ≤ 211.80 → surplus 111.80 to the reserve.
Check: 282.40 + 353.01 + 100.00 + 158.85 + 52.95 + 111.80 = 1059.01.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine

from afterschool.fees.models import AllocationRun, Refund
from core.models import AuditEvent
from tests.afterschool.conftest import SHANGHAI
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, take_attendance
from tests.conftest import assert_error
from tests.factories import AttendanceFactory

pytestmark = pytest.mark.django_db


def _at(y, m, d, h=10):
    return time_machine.travel(datetime(y, m, d, h, 0, tzinfo=SHANGHAI), tick=False)


def _cells(content: bytes, sheet=None) -> list[list]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb[sheet] if sheet else wb.active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_a_whole_term_from_rates_to_payroll(
    api_as, school_x, class_x, teacher_x, teacher_x2, parent, school_admin_x, bureau_staff
):
    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    term = s.term
    town_bureau = bureau_of_town(school_x.town)
    t = term.pk

    with _at(2026, 9, 7, 8):
        school, mum = api_as(school_admin_x), api_as(parent)
        r = school.post(f"fees/terms/{t}/rate", {"basis": "per_lesson", "amount": "3.00"})
        assert r.status_code == 200, r.content
        r = mum.post(
            "fees/exemptions",
            {"student_id": s.c3.pk, "term_id": t, "kind": "reduce", "amount": "10.00", "reason": "家庭困难"},
        )
        assert r.status_code == 403 or r.status_code == 404  # not her child
        r = school.post(
            "fees/exemptions",
            {"student_id": s.c3.pk, "term_id": t, "kind": "reduce", "amount": "10.00", "reason": "低保家庭"},
        )
        assert r.status_code == 201, r.content
        exemption_id = r.json()["id"]
        # An exemption not yet approved: no bill is issued on it.
        assert_error(school.post(f"fees/terms/{t}/bills"), 409, "fee.exemption_pending")
        r = school.post(f"fees/exemptions/{exemption_id}/decision", {"approve": True, "note": "属实"})
        assert r.json()["status"] == "approved"
        r = school.post(f"fees/terms/{t}/bills")
        assert r.json() == {"bills": 3, "total": "56.00"}
        bills = {b["student_name"]: b for b in school.get("fees/bills", {"term_id": t}).json()["items"]}
        assert {n: (b["lessons"], b["gross"], b["exempted"], b["amount"]) for n, b in bills.items()} == {
            "张小明": (8, "24.00", "0.00", "24.00"),
            "李小红": (6, "18.00", "0.00", "18.00"),
            "王小刚": (8, "24.00", "10.00", "14.00"),
        }

    with _at(2026, 9, 11):
        school = api_as(school_admin_x)
        app = s.apps[("李小红", "作业辅导")]
        r = school.post(f"afterschool/applications/{app.pk}/withdraw")
        assert r.status_code == 200, r.content
        refund = Refund.objects.get(application=app)
        assert (refund.amount, refund.effective_from, refund.units_not_attended, refund.units_billed) == (
            Decimal("9.00"),
            date(2026, 9, 14),
            3,
            6,
        )

    # Back in November: attendance of the term, except the last Friday's arts lesson.
    take_attendance(s, skip={(s.arts_fri.pk, date(2026, 9, 18))})
    school, bureau, mum = api_as(school_admin_x), api_as(town_bureau), api_as(parent)
    assert bureau.post(f"fees/terms/{t}/subsidies", {"amount": "1000.00", "note": "生均补助"}).status_code == 201
    assert school.post(f"fees/terms/{t}/other-income", {"amount": "12.01", "source": "场地使用费"}).status_code == 201
    r = school.post(
        f"fees/terms/{t}/plan",
        {
            "shares": {"teacher": "60", "outside": "20", "operations": "15", "reserve": "5"},
            "kind_weights": {"reading": "1.5"},
        },
    )
    assert r.status_code == 200, r.content
    overview = school.get(f"fees/terms/{t}").json()
    assert (overview["fees"], overview["refunds"], overview["subsidy"], overview["other"], overview["pool"]) == (
        "56.00",
        "9.00",
        "1000.00",
        "12.01",
        "1059.01",
    )

    # A planned lesson without attendance blocks the allocation, and is listed for the school.
    err = assert_error(school.post(f"fees/terms/{t}/allocations", {}), 409, "allocation.attendance_missing")
    assert "美术" in err["message"]
    gaps = school.get(f"fees/terms/{t}/attendance-gaps").json()
    assert [(g["programme"], g["date"]) for g in gaps] == [("美术", "2026-09-18")]
    assert not AllocationRun.objects.exists()
    AttendanceFactory(session=s.arts_fri, student=s.c1, date=date(2026, 9, 18))

    r = school.post(f"fees/terms/{t}/allocations", {})
    assert r.status_code == 200, r.content
    run = r.json()
    assert run["status"] == "draft"
    assert run["figures"] == {
        "fees": "56.00",
        "refunds": "9.00",
        "subsidy": "1000.00",
        "other": "12.01",
        "pool": "1059.01",
        "teacher_share": "635.41",
        "outside_share": "211.80",
        "operations": "158.85",
        "reserve": "52.95",
        "outside_owed": "100.00",
        "outside_surplus": "111.80",
        "teacher_unallocated": "0.00",
        "shortfall": "0.00",
    }
    lines = {
        ln["name"]: (ln["pay_type"], ln["lessons"], ln["weighted_lessons"], ln["rate"], ln["amount"])
        for ln in run["lines"]
    }
    assert lines == {
        "王老师": ("performance", 4, "4.00", None, "282.40"),
        "赵老师": ("performance", 4, "5.00", None, "353.01"),
        "马画师": ("labour", 2, "2.00", "50.00", "100.00"),
    }

    # The workflow: school review, bureau approval, lock; the district bureau may read, a parent may not.
    rid = run["id"]
    assert_error(bureau.post(f"fees/allocations/{rid}/approve"), 409, "allocation.wrong_state")
    assert school.post(f"fees/allocations/{rid}/review").json()["status"] == "reviewed"
    assert_error(school.post(f"fees/allocations/{rid}/approve"), 404)
    assert bureau.post(f"fees/allocations/{rid}/approve").json()["status"] == "approved"
    assert_error(school.get(f"fees/allocations/{rid}/payroll.xlsx"), 409, "allocation.not_locked")
    assert bureau.post(f"fees/allocations/{rid}/lock").json()["status"] == "locked"
    assert_error(school.post(f"fees/terms/{t}/allocations", {}), 409, "allocation.locked")
    assert_error(
        school.post(f"fees/terms/{t}/rate", {"basis": "per_lesson", "amount": "4.00"}), 409, "fee.term_allocated"
    )
    assert api_as(bureau_staff).get(f"fees/allocations/{rid}").status_code == 200
    assert_error(mum.get(f"fees/allocations/{rid}"), 404)
    verbs = list(
        AuditEvent.objects.filter(object_type="afterschool.allocationrun", object_id=str(rid))
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        "afterschool.allocation_computed",
        "afterschool.allocation_reviewed",
        "afterschool.allocation_approved",
        "afterschool.allocation_locked",
    ]

    # A payment into the school's account; the parent sees her child's bill only, paid in full.
    acct = school.post(
        f"fees/schools/{school_x.pk}/accounts",
        {"bank": "重庆农村商业银行涪陵支行", "account_name": school_x.name, "account_number": "6228480012345678"},
    )
    assert acct.status_code == 201, acct.content
    bill_c1 = bills["张小明"]["id"]
    r = school.post(
        f"fees/bills/{bill_c1}/payments",
        {"account_id": acct.json()["id"], "amount": "24.00", "paid_on": "2026-09-08", "reference": "PAY001"},
    )
    assert r.status_code == 201, r.content
    mine = mum.get("fees/bills").json()
    assert [(b["student_name"], b["amount"], b["paid"], b["due"]) for b in mine["items"]] == [
        ("张小明", "24.00", "24.00", "0.00")
    ]

    # Statements per person, the school summary, and the payroll export.
    pdf = school.get(f"fees/allocations/{rid}/statements/{s.outside_staff.pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    teacher_line = next(ln for ln in run["lines"] if ln["name"] == "赵老师")
    sheet = _cells(api_as(teacher_x2).get(f"fees/allocations/{rid}/statements/{teacher_line['staff_id']}.xlsx").content)
    assert ["应发金额", 353.01] in [r[:2] for r in sheet]
    assert [r[:3] for r in sheet if r[0] in ("作业辅导", "经典诵读")] == [
        ["作业辅导", "作业辅导与看护", 2],
        ["经典诵读", "阅读", 2],
    ]
    # 王老师 may not download 赵老师's statement.
    assert_error(api_as(teacher_x).get(f"fees/allocations/{rid}/statements/{teacher_line['staff_id']}.pdf"), 404)

    summary = _cells(school.get(f"fees/allocations/{rid}/summary.xlsx").content)
    figures = {r[0]: r[1] for r in summary if r and r[0] and r[1] is not None}
    assert figures["可分配总额"] == 1059.01
    assert figures["劳务费结余（转预留）"] == 111.8

    payroll = _cells(school.get(f"fees/allocations/{rid}/payroll.xlsx").content)
    headings = next(r for r in payroll if r and r[0] == "序号")
    name, item, base, lessons, amount = (headings.index(h) for h in ("姓名", "工资项目", "计入次年绩效工资基数", "课时",
                                                                   "金额（元）"))  # fmt: skip
    rows = [r for r in payroll if r and isinstance(r[0], int)]
    assert [(r[name], r[item], r[base], r[lessons], Decimal(str(r[amount]))) for r in rows] == [
        ("马画师", "劳务费", "不适用", 2, Decimal("100.00")),
        ("王老师", "绩效工资（课后服务单列增量）", "否", 4, Decimal("282.40")),
        ("赵老师", "绩效工资（课后服务单列增量）", "否", 4, Decimal("353.01")),
    ]
    totals = {r[name]: Decimal(str(r[amount])) for r in payroll if r and r[name] and str(r[name]).startswith("合计")}
    assert totals == {"合计 绩效工资（课后服务单列增量）": Decimal("635.41"), "合计 劳务费": Decimal("100.00")}
    grand = next(r for r in payroll if r and r[name] == "总计")
    assert (grand[lessons], Decimal(str(grand[amount]))) == (10, Decimal("735.41"))


def test_a_statement_pdf_leaves_pillow_strict():
    """weasyprint's import relaxes Pillow for the whole process; making a statement puts it back."""
    from PIL import ImageFile

    from afterschool.fees.exports import _weasyprint_html

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    _weasyprint_html()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
