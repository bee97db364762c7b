"""The demo: six schools in six towns with a term of programmes, sessions, students, enrolments and attendance; the
coverage shows the three schools that miss R-ASS-1; the demo parent and teacher find their things."""

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.services import auth_login
from afterschool.schedule.models import Application, Attendance, ChoiceWindow, School
from mobile_api.management.commands.seed_demo import DEMO_PASSWORD
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def api_as(user) -> ApiClient:
    return ApiClient(auth_login(identifier=user.username or user.phone, password=DEMO_PASSWORD).access_token)


def test_demo_after_school_data():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    schools = list(School.objects.filter(terms__isnull=False).distinct())
    assert len(schools) == 6 and len({s.town_id for s in schools}) == 6
    for school in schools:
        assert school.programmes.count() >= 5
        assert school.sessions.count() >= 8
        assert school.students.count() >= 40
        assert Application.objects.filter(programme__school=school, status="approved").count() >= 30
        assert Attendance.objects.filter(session__school=school).exists()
    window = ChoiceWindow.objects.filter(status="allocated").first()
    assert window is not None and window.seed == 20260901
    # The school admin's pages have something to try: guardians' phones on the class list, a window to draw.
    from afterschool.schedule.models import GuardianPhone

    first = School.objects.get(name="涪陵区实验小学")
    assert GuardianPhone.objects.filter(student__school=first).count() == first.students.count()
    assert GuardianPhone.objects.filter(student__guardians__phone="13900000008", phone="13900000008").exists()
    open_window = ChoiceWindow.objects.get(school=first, status="open", name="航模社志愿填报")
    assert Application.objects.filter(window=open_window, status="choice").count() > 4

    staff = User.objects.get(username="staff")
    coverage = api_as(staff).get("afterschool/coverage").json()
    flagged = {r["school_name"]: {f["code"] for f in r["findings"]} for r in coverage["items"] if not r["ok"]}
    assert flagged == {
        "李渡街道中心小学": {"no_service"},
        "白涛街道中心小学": {"too_short", "ends_too_early"},
        "蔺市街道中心学校": {"forbidden_kind"},
    }

    parent = User.objects.get(phone="13900000008")
    children = api_as(parent).get("afterschool/children").json()
    assert sorted(c["name"] for c in children) == ["张小明", "张小雨"]
    assert api_as(parent).get(f"afterschool/children/{children[0]['id']}/timetable").json()

    teacher = User.objects.get(username="teacher")
    pending = api_as(teacher).get("afterschool/applications", {"status": "pending"}).json()
    assert pending["count"] >= 1
    assert api_as(teacher).get("afterschool/my-sessions", {"date": "2026-11-23"}).json()  # a Monday
