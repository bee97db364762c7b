"""A school admin, on a phone, sets up a term from an empty school to a published timetable and runs the lottery
(issue 19): term, room, class list imported from xlsx, programme, sessions with the clash check shown while
editing (before saving), a choice window, and the seeded lottery with its results and waitlist."""

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import Workbook

from accounts.models import Role
from afterschool.schedule.models import Application, ChoiceWindow, Programme, Session, Student
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import school_and_admin
from tests.e2e.test_login_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def class_list(tmp_path) -> str:
    wb = Workbook()
    ws = wb.active
    ws.append(["年级", "班级", "姓名", "监护人手机", "留守儿童"])
    for i in range(6):
        ws.append([3, 1 + i % 2, f"学生{i}", f"1391111000{i}", "是" if i == 5 else ""])
    path = tmp_path / "名单.xlsx"
    buf = BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    return str(path)


def test_a_school_admin_sets_up_a_term_to_a_published_timetable_and_runs_the_lottery(browser, live_server, tmp_path):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        school, admin = school_and_admin()
        make_user("刘老师", Role.TEACHER, school=school)
        context = browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(10_000)
        page = context.new_page()
        base = live_server.url
        try:
            sign_in(page, base, admin.username, PASSWORD)
            page.goto(f"{base}/afterschool/school/{school.pk}/")
            assert page.get_by_test_id("no-term").is_visible()

            # Term
            page.get_by_test_id("menu-terms").click()
            page.fill("#name", "2026 秋季学期")
            page.fill("#starts_on", "2026-09-01")
            page.fill("#ends_on", "2026-12-31")
            page.get_by_role("button", name="创建学期").click()
            assert page.get_by_test_id("term-row").count() == 1

            # Room
            page.get_by_test_id("school-home-link").click()
            page.get_by_test_id("menu-rooms").click()
            page.fill("#name", "阅览室")
            page.get_by_role("button", name="添加", exact=True).click()
            assert page.get_by_test_id("room-row").count() == 1

            # Class list from xlsx
            page.get_by_test_id("school-home-link").click()
            page.get_by_test_id("menu-students").click()
            page.get_by_test_id("import-link").click()
            page.set_input_files("#file", class_list(tmp_path))
            page.get_by_role("button", name="导入", exact=True).click()
            assert page.get_by_test_id("student-row").count() == 6

            # Programme
            page.get_by_test_id("school-home-link").click()
            page.get_by_test_id("menu-programmes").click()
            page.fill("#name", "阅读社")
            page.select_option("#kind", "reading")
            page.fill("#capacity", "4")
            page.get_by_role("button", name="创建项目").click()
            page.fill("#name", "合唱团")
            page.select_option("#kind", "arts")
            page.fill("#capacity", "10")
            page.get_by_role("button", name="创建项目").click()
            assert page.get_by_test_id("programme-row").count() == 2

            # Sessions from a weekly pattern: Monday to Friday 16:00-18:00, 阅读社 with 陈校长 in 阅览室
            page.get_by_test_id("to-timetable").click()
            form = page.get_by_test_id("session-form")
            reading = Programme.objects.get(name="阅读社").pk
            choir = Programme.objects.get(name="合唱团").pk
            form.locator("#programme").select_option(str(reading))
            for box in form.locator("input[name=weekdays]").all():
                box.check()
            form.locator("#staff").select_option(label=next(
                o for o in form.locator("#staff option").all_inner_texts() if o.startswith("陈校长")
            ))  # fmt: skip
            form.locator("#room").select_option(label="阅览室")
            page.get_by_test_id("check-ok").wait_for()
            assert page.get_by_test_id("check-policy-ok").is_visible()
            page.get_by_test_id("session-save").click()
            assert page.get_by_test_id("edit-session").count() == 5
            assert page.get_by_test_id("policy-ok").is_visible()

            # 合唱团 on Wednesday in the same room: the clash is named while editing, before saving
            form = page.get_by_test_id("session-form")
            form.locator("#programme").select_option(str(choir))
            form.locator("input[name=weekdays][value='2']").check()
            form.locator("#starts_at").fill("17:00")
            form.locator("#ends_at").fill("18:30")
            form.locator("#staff").select_option(label=next(
                o for o in form.locator("#staff option").all_inner_texts() if o.startswith("刘老师")
            ))  # fmt: skip
            form.locator("#room").select_option(label="阅览室")
            problem = page.get_by_test_id("check-problem")
            problem.wait_for()
            assert "阅览室" in problem.inner_text() and "阅读社" in problem.inner_text()
            assert Session.objects.filter(programme_id=choir).count() == 0
            form.locator("#room").select_option("")
            page.get_by_test_id("check-ok").wait_for()
            page.get_by_test_id("session-save").click()
            assert page.get_by_test_id("edit-session").count() == 6
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            # The published timetable shows them
            page.get_by_test_id("published-timetable").click()
            assert page.get_by_test_id("phone-session").count() == 6

            # A choice window for 阅读社
            page.goto(f"{base}/afterschool/school/{school.pk}/")
            page.get_by_test_id("menu-windows").click()
            page.fill("#name", "阅读社抽签")
            page.fill("#opens_at", "2026-11-20T08:00")
            page.fill("#closes_at", "2026-11-30T18:00")
            page.get_by_label("阅读社").check()
            page.get_by_role("button", name="开放", exact=True).click()
            window = ChoiceWindow.objects.get(name="阅读社抽签")
            # Six parents rank 阅读社 first (their page is another helper's: here, straight into the table)
            Application.objects.bulk_create(
                Application(student=s, programme_id=reading, window=window, rank=1, status="choice",
                            priority=s.left_behind)
                for s in Student.objects.filter(school=school)
            )  # fmt: skip

            # The lottery, with its seed
            page.reload()
            page.fill("#seed", "20261125")
            page.get_by_role("button", name="截止并抽签").click()
            assert "20261125" in page.get_by_test_id("lottery-seed").inner_text()
            assert "4 名录取" in page.get_by_test_id("lottery-summary").inner_text()
            assert page.get_by_test_id("waitlist").locator("li").count() == 2
            left_behind = Student.objects.get(name="学生5")
            assert Application.objects.get(student=left_behind, programme_id=reading).status == "approved"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"]
        finally:
            context.close()
