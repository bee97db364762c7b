"""The school admin's weekly timetable in a real browser: sessions drawn in their day columns at their times,
a day without service and a clash highlighted, and Chinese drawn with real glyphs."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from accounts.models import Role
from tests.conftest import PASSWORD, TOWN_A, make_user, region
from tests.e2e.conftest import school_and_admin
from tests.e2e.test_login_page import CJK_GLYPHS_DIFFER, sign_in
from tests.factories import ProgrammeFactory, RoomFactory, SchoolFactory, SessionFactory, StaffFactory, TermFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def build():
    school, admin = school_and_admin()
    teacher = make_user("刘老师", Role.TEACHER, school=school)
    term = TermFactory(school=school, name="2026 秋季学期", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31))
    staff = StaffFactory(school=school, user=teacher)
    room = RoomFactory(school=school, name="阅览室")

    def session(programme, weekday, start, end):
        return SessionFactory(
            programme=programme, weekday=weekday, starts_at=time(*start), ends_at=time(*end), room=room, staff=staff
        )

    reading = ProgrammeFactory(term=term, name="阅读社", kind="reading", grade_min=1, grade_max=6, capacity=30)
    for w in range(4):  # Friday left empty
        session(reading, w, (16, 0), (18, 0))
    calligraphy = ProgrammeFactory(term=term, name="书法", kind="arts", grade_min=1, grade_max=6, capacity=20)
    session(calligraphy, 0, (17, 0), (18, 30))  # same teacher and room as Monday's reading: a clash
    return school, admin


def test_timetable_grid_with_clash_and_policy_warning(live_server, page, tmp_path):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        school, admin = build()
        sign_in(page, live_server.url, admin.username, PASSWORD)
        page.goto(f"{live_server.url}/afterschool/schools/{school.pk}/timetable/")

        assert page.title().startswith("涪陵区实验小学")
        monday = page.get_by_test_id("col-0")
        assert monday.get_by_test_id("session").count() == 2
        assert page.get_by_test_id("col-4").get_by_test_id("session").count() == 0

        # Drawn where the clock says: 16:00-18:00 is taller than it is wide and sits above 17:00-18:30.
        reading = monday.get_by_test_id("session").filter(has_text="16:00–18:00").bounding_box()
        calligraphy = monday.get_by_test_id("session").filter(has_text="17:00–18:30").bounding_box()
        assert reading["y"] < calligraphy["y"]
        assert abs((reading["height"] / 120) - (calligraphy["height"] / 90)) < 0.05  # height proportional to minutes
        assert reading["x"] != calligraphy["x"]  # overlapping sessions side by side, not on top of each other

        clash_colour = (
            monday.get_by_test_id("session")
            .filter(has_text="17:00–18:30")
            .evaluate("el => getComputedStyle(el).borderTopColor")
        )
        assert clash_colour == "rgb(198, 40, 40)"
        assert page.get_by_test_id("clash-warning").is_visible()
        assert "周五没有课后服务" in page.get_by_test_id("policy-warnings").inner_text()
        assert "周五没有课后服务" in page.get_by_test_id("day-4").inner_text()

        shot = tmp_path / "timetable.png"
        page.screenshot(path=str(shot), full_page=True)
        with Image.open(shot) as image:
            assert image.width >= 1000 and len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 20
        assert page.evaluate(CJK_GLYPHS_DIFFER), "Chinese drawn as boxes: apt-get install fonts-wqy-microhei"

        page.get_by_role("link", name="阅读社").first.click()
        page.wait_for_load_state()
        assert page.get_by_test_id("roster").is_visible()


def test_another_schools_admin_gets_404(live_server, page):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        school, _ = build()
        other = SchoolFactory(name="别的学校", town=region(TOWN_A))
        stranger = make_user("别校长", Role.SCHOOL_ADMIN, school=other)
        sign_in(page, live_server.url, stranger.username, PASSWORD)
        response = page.goto(f"{live_server.url}/afterschool/schools/{school.pk}/timetable/")
        assert response.status == 404
