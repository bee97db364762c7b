"""The web pages: timetable with warnings, roster with xlsx export, sign-in sheet, coverage; scoped like the API."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from core.models import AuditEvent
from tests.afterschool.conftest import TODAY, enrol, make_programme, make_session
from tests.conftest import client_for
from tests.factories import AttendanceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(term_x, teacher_x, room_x, child):
    p = make_programme(term_x, "阅读社")
    for w in range(4):  # no Friday
        make_session(p, teacher_x, weekday=w, room=room_x)
    enrol(child, p)
    return p


def test_timetable_shows_sessions_and_policy_warnings(school_admin_x, schedule, term_x):
    page = client_for(school_admin_x).get(f"/afterschool/schools/{term_x.school_id}/timetable/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="session"') == 4
    assert "周五没有课后服务" in html and 'data-code="no_service"' in html
    assert f"/afterschool/programmes/{schedule.pk}/roster/" in html


def test_timetable_highlights_a_clash_entered_outside_the_checks(school_admin_x, schedule, term_x, teacher_x):
    make_session(make_programme(term_x, "书法"), teacher_x, weekday=0, start=(17, 0), end=(18, 30))
    html = client_for(school_admin_x).get(f"/afterschool/schools/{term_x.school_id}/timetable/").content.decode()
    assert 'data-testid="clash-warning"' in html and "教师冲突" in html


def test_pages_are_scoped(school_admin_y, parent, bureau_staff, inspector_b, schedule, term_x, client):
    url = f"/afterschool/schools/{term_x.school_id}/timetable/"
    assert client.get(url).status_code == 302  # to the sign-in page
    for outsider in (school_admin_y, parent, inspector_b):
        assert client_for(outsider).get(url).status_code == 404
    assert client_for(bureau_staff).get(url).status_code == 200
    # Rosters name children: school staff only, not the bureau.
    assert client_for(bureau_staff).get(f"/afterschool/programmes/{schedule.pk}/roster/").status_code == 404
    assert client_for(school_admin_y).get(f"/afterschool/programmes/{schedule.pk}/roster.xlsx").status_code == 404


def test_a_teacher_sees_the_rosters_of_their_own_sessions_only(schedule, teacher_x, teacher_x2, term_x):
    assert client_for(teacher_x).get(f"/afterschool/programmes/{schedule.pk}/roster/").status_code == 200
    assert client_for(teacher_x2).get(f"/afterschool/programmes/{schedule.pk}/roster/").status_code == 404
    session = schedule.sessions.first()
    assert client_for(teacher_x2).get(f"/afterschool/sessions/{session.pk}/sign-in/").status_code == 404


def test_roster_export_and_sign_in_sheet(school_admin_x, schedule, child, teacher_x):
    session = schedule.sessions.get(weekday=TODAY.weekday())
    AttendanceFactory(session=session, student=child, date=TODAY, mark="absent")
    c = client_for(school_admin_x)
    assert "张小明" in c.get(f"/afterschool/programmes/{schedule.pk}/roster/").content.decode()
    response = c.get(f"/afterschool/programmes/{schedule.pk}/roster.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEvent.objects.filter(verb="afterschool.roster_exported", actor=school_admin_x).count() == 1
    wb = load_workbook(BytesIO(response.content))
    assert [r[1] for r in wb["名单"].iter_rows(min_row=2, values_only=True)] == ["张小明"]
    assert [r[4] for r in wb["考勤"].iter_rows(min_row=2, values_only=True)] == ["缺勤"]
    sheet = client_for(teacher_x).get(f"/afterschool/sessions/{session.pk}/sign-in/").content.decode()
    assert "张小明" in sheet and "签到表" in sheet


@pytest.mark.parametrize(
    "language, sheets, header",
    [
        (None, ["名单", "考勤"], ("班级", "姓名", "优先", "参加起始", "退出生效")),
        ("en", ["Roster", "Attendance"], ("Class", "Name", "Priority", "From", "Until")),
    ],
)
def test_the_roster_export_is_in_the_requesters_language(school_admin_x, schedule, language, sheets, header):
    if language:
        school_admin_x.language = language
        school_admin_x.save(update_fields=["language"])
    response = client_for(school_admin_x).get(f"/afterschool/programmes/{schedule.pk}/roster.xlsx")
    wb = load_workbook(BytesIO(response.content))
    assert wb.sheetnames == sheets
    assert next(wb[sheets[0]].iter_rows(max_row=1, values_only=True)) == header


def test_coverage_page_for_the_bureau(bureau_staff, schedule, term_x):
    html = client_for(bureau_staff).get("/afterschool/coverage/").content.decode()
    assert "X 小学" in html and "周五没有课后服务" in html and "100%" in html


def test_a_parent_sees_their_childs_timetable_and_attendance_only(schedule, child, parent, other_parent):
    session = schedule.sessions.get(weekday=TODAY.weekday())
    AttendanceFactory(session=session, student=child, date=TODAY, mark="absent")
    html = client_for(parent).get("/afterschool/children/").content.decode()
    assert "张小明" in html and "16:00–18:00 阅读社" in html and "缺勤" in html
    other = client_for(other_parent).get("/afterschool/children/").content.decode()
    assert "张小明" not in other and "没有关联的孩子" in other


def test_the_start_page_links_to_what_each_user_may_open(school_admin_x, bureau_staff, parent, schedule):
    school = client_for(school_admin_x).get("/afterschool/").content.decode()
    assert 'data-testid="fees-link"' in school and 'data-testid="admissions-link"' in school
    assert 'data-testid="coverage-link"' not in school
    bureau = client_for(bureau_staff).get("/afterschool/").content.decode()
    assert 'data-testid="coverage-link"' in bureau and 'data-testid="fees-link"' in bureau
    home = client_for(parent).get("/afterschool/").content.decode()
    assert 'data-testid="children-link"' in home and 'data-testid="fees-link"' not in home  # no school of theirs
