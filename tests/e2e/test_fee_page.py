"""The school's allocation page in a real browser: the locked run with its money and lines, the statement PDF and
the payroll export downloaded; a teacher sees only their own line."""

from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine

from accounts.models import Role
from afterschool.fees import allocation as fee_allocation
from afterschool.fees import services as fees
from afterschool.schedule.models import SchoolClass
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, take_attendance
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import school_and_admin
from tests.e2e.test_login_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def build():
    school, admin = school_and_admin()
    a = make_user("王老师", Role.TEACHER, school=school)
    b = make_user("赵老师", Role.TEACHER, school=school)
    parent = make_user("张家长", Role.PARENT, phone="13800000001")
    klass = SchoolClass.objects.create(school=school, grade=3, number=1, class_teacher=a)
    s = build_term(school, klass, a, b, parent)
    fees.rate_set(actor=admin, term_id=s.term.pk, basis="per_lesson", amount="3.00")
    fees.bills_issue(actor=admin, term_id=s.term.pk)
    take_attendance(s)
    bureau = bureau_of_town(school.town)
    fees.subsidy_add(actor=bureau, term_id=s.term.pk, amount="1000.00")
    fee_allocation.plan_set(
        actor=admin, term_id=s.term.pk, shares={"teacher": 60, "outside": 20, "operations": 15, "reserve": 5}
    )
    run = fee_allocation.run_compute(actor=admin, term_id=s.term.pk)
    fee_allocation.run_review(actor=admin, run_id=run.pk)
    fee_allocation.run_approve(actor=bureau, run_id=run.pk)
    fee_allocation.run_lock(actor=bureau, run_id=run.pk)
    return admin, a, run


def test_school_sees_the_allocation_and_downloads_statements(live_server, page, tmp_path):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        admin, teacher, run = build()
        sign_in(page, live_server.url, admin.username, PASSWORD)
        page.goto(f"{live_server.url}/afterschool/fees/")
        page.get_by_test_id("run-link").first.click()
        assert page.get_by_test_id("status").inner_text().startswith("已锁定")
        lines = page.get_by_test_id("lines").inner_text()
        assert "王老师" in lines and "赵老师" in lines and "马画师" in lines and "劳务费" in lines
        assert "1066.00" in page.get_by_test_id("figures").inner_text()  # pool: 66.00 fees + 1000.00 subsidy

        with page.expect_download() as pdf:
            page.get_by_test_id("pdf").first.click()
        saved = tmp_path / "statement.pdf"
        pdf.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")

        with page.expect_download() as payroll:
            page.get_by_test_id("payroll").click()
        book = tmp_path / "payroll.xlsx"
        payroll.value.save_as(book)
        rows = list(openpyxl.load_workbook(book).active.iter_rows(values_only=True))
        assert {r[1] for r in rows if r and isinstance(r[0], int)} == {"王老师", "赵老师", "马画师"}

        # The teacher: their own line, no money figures, no payroll.
        page.context.clear_cookies()
        sign_in(page, live_server.url, teacher.username, PASSWORD)
        page.goto(f"{live_server.url}/afterschool/fees/runs/{run.pk}/")
        assert "王老师" in page.get_by_test_id("lines").inner_text()
        assert "赵老师" not in page.get_by_test_id("lines").inner_text()
        assert page.get_by_test_id("figures").count() == 0
