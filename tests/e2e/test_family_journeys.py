"""Two journeys in Chromium at phone width: a parent links a child (the class list holds her phone), applies and sees
the result once the class teacher approves; a school admin closes a term's fees (bills, the bank statement import
with a row that names no bill listed, the allocation reviewed, approved by the bureau and locked, the payroll)."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import Workbook

from accounts.models import Role
from afterschool.family import services as family
from afterschool.fees.bank import payment_code
from afterschool.fees.models import AllocationRun, Bill, Payment
from afterschool.schedule import enrolment
from afterschool.schedule.models import Application, SchoolClass
from tests.afterschool.conftest import make_programme, make_session, make_student
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, take_attendance
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import school_and_admin
from tests.e2e.test_login_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
WEDNESDAY = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _phone_page(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _fits(page) -> None:
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


def test_a_parent_links_a_child_applies_and_sees_the_result(browser, live_server):
    with time_machine.travel(WEDNESDAY, tick=True):
        school, admin = school_and_admin()
        teacher = make_user("刘老师", Role.TEACHER, school=school)
        klass = SchoolClass.objects.create(school=school, grade=3, number=1, class_teacher=teacher)
        from tests.factories import TermFactory

        term = TermFactory(school=school)
        chess = make_programme(term, "围棋社", kind="clubs")
        make_session(chess, teacher, weekday=1)
        kid = make_student(school, klass, "张小明")
        family.guardian_phones_set(actor=admin, student=kid, phones=["13800000001"])
        mum = make_user("张女士", Role.PARENT, phone="13800000001")

        context, page = _phone_page(browser)
        try:
            sign_in(page, live_server.url, mum.phone, PASSWORD)
            page.goto(f"{live_server.url}/afterschool/children/")
            page.get_by_test_id("link-child").click()
            page.locator("#school_id").select_option(str(school.pk))
            page.locator("#grade").select_option("3")
            page.locator("#class_number").fill("1")
            page.locator("#child_name").fill("张小明")
            _fits(page)
            page.get_by_test_id("link-submit").click()
            page.wait_for_url(f"{live_server.url}/afterschool/children/")
            assert "已关联张小明" in page.get_by_test_id("flash").inner_text()
            page.get_by_test_id("child-page").click()
            assert "围棋社" in page.get_by_test_id("options").inner_text()
            _fits(page)
            page.get_by_test_id("apply").click()
            assert page.get_by_test_id("result").first.inner_text() == "待班主任审核"

            app = Application.objects.get(student=kid, programme=chess)
            enrolment.application_approve(actor=teacher, application_id=app.pk)
            page.reload()
            assert page.get_by_test_id("result").first.inner_text() == "已录取"
            assert page.get_by_test_id("withdraw-link").count() == 1
            _fits(page)
        finally:
            context.close()


def _statement(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["交易日期", "贷方金额", "交易流水号", "对方户名", "附言"])
    for row in rows:
        ws.append(list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_school_admin_closes_a_terms_fees(browser, live_server, tmp_path):
    with time_machine.travel(WEDNESDAY, tick=True):
        school, admin = school_and_admin()
        a = make_user("王老师", Role.TEACHER, school=school)
        b = make_user("赵老师", Role.TEACHER, school=school)
        parent = make_user("张家长", Role.PARENT, phone="13800000001")
        klass = SchoolClass.objects.create(school=school, grade=3, number=1, class_teacher=a)
        s = build_term(school, klass, a, b, parent)
        take_attendance(s)
        bureau = bureau_of_town(school.town)

        context, page = _phone_page(browser)
        try:
            sign_in(page, live_server.url, admin.username, PASSWORD)
            page.goto(f"{live_server.url}/afterschool/fees/")
            page.get_by_test_id("term-link").first.click()
            page.locator("#amount").fill("30.00")
            page.get_by_test_id("rate-save").click()
            page.get_by_test_id("issue-bills").click()
            assert "已出具 3 张账单" in page.get_by_test_id("flash").inner_text()
            # No account yet: its form is open.
            page.locator("#bank").fill("重庆农商行涪陵支行")
            page.locator("#account_number").fill("6228480012345678")
            page.get_by_role("button", name="登记账户").click()

            b1 = Bill.objects.get(student=s.c1)
            path = tmp_path / "流水.xlsx"
            path.write_bytes(_statement([
                ("2026-09-08", str(b1.amount), "T0001", "张家长", payment_code(b1)),
                ("2026-09-09", "30.00", "T0002", "某人", "转账"),
            ]))  # fmt: skip
            page.locator("#file").set_input_files(str(path))
            page.get_by_test_id("import-submit").click()
            assert page.get_by_test_id("unmatched-row").count() == 1
            assert "没有缴费码" in page.get_by_test_id("unmatched").inner_text()
            assert Payment.objects.get().reference == "T0001"
            _fits(page)

            page.get_by_test_id("plan-save").click()  # no plan yet: its form is open, 60/20/15/5 proposed
            page.locator("#until").fill("2026-09-18")
            page.get_by_test_id("compute").click()
            page.get_by_test_id("run-review").click()
            assert AllocationRun.objects.get().status == "reviewed"

            context.clear_cookies()
            sign_in(page, live_server.url, bureau.username or bureau.phone, PASSWORD)
            page.goto(f"{live_server.url}/afterschool/fees/approvals/")
            page.get_by_test_id("waiting-runs").get_by_role("link").first.click()
            page.get_by_test_id("run-approve").click()
            page.get_by_test_id("run-lock").click()
            assert page.get_by_test_id("status").inner_text().startswith("已锁定")
            with page.expect_download() as payroll:
                page.get_by_test_id("payroll").click()
            assert payroll.value.suggested_filename.endswith(".xlsx")
            _fits(page)
        finally:
            context.close()
