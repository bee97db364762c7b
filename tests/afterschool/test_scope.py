"""Who sees what, across the read endpoints: parents their own children, teachers their sessions, school admins
their school, bureau staff the schools of their towns; anything else answers 404 or an empty list."""

import pytest

from accounts.models import Role
from tests.afterschool.conftest import make_programme
from tests.conftest import TOWN_A, assert_error, make_user, region

pytestmark = pytest.mark.django_db


def names(response):
    return sorted(s["name"] if "name" in s else s["school_name"] for s in response.json()["items"])


def test_school_lists_follow_roles(
    api_as, school_x, school_y, school_admin_x, teacher_x, bureau_staff, inspector_b, parent
):
    town_a_staff = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    assert names(api_as(school_admin_x).get("afterschool/schools")) == ["X 小学"]
    assert names(api_as(teacher_x).get("afterschool/schools")) == ["X 小学"]
    assert names(api_as(bureau_staff).get("afterschool/schools")) == ["X 小学", "Y 小学"]
    assert names(api_as(town_a_staff).get("afterschool/schools")) == ["X 小学"]
    assert names(api_as(inspector_b).get("afterschool/schools")) == ["Y 小学"]
    assert names(api_as(parent).get("afterschool/schools")) == []
    assert names(api_as(town_a_staff).get("afterschool/coverage")) == ["X 小学"]
    assert names(api_as(parent).get("afterschool/coverage")) == []


def test_school_detail_programmes_and_sessions_are_scoped(api_as, term_x, school_admin_y, parent, bureau_staff):
    make_programme(term_x, "阅读社")
    sid = term_x.school_id
    for path in (
        f"afterschool/schools/{sid}",
        f"afterschool/schools/{sid}/programmes",
        f"afterschool/schools/{sid}/sessions",
    ):
        for outsider in (school_admin_y, parent):
            assert_error(api_as(outsider).get(path), 404, "not_found")
        assert api_as(bureau_staff).get(path).status_code == 200


def test_student_names_are_for_the_schools_own_staff(
    api_as, child, school_admin_x, teacher_x, bureau_staff, school_admin_y
):
    url = f"afterschool/schools/{child.school_id}/students"
    assert [s["name"] for s in api_as(school_admin_x).get(url).json()["items"]] == ["张小明"]
    assert api_as(teacher_x).get(url).json()["count"] == 1
    for outsider in (bureau_staff, school_admin_y):
        assert_error(api_as(outsider).get(url), 404, "not_found")


def test_a_missing_school_and_someone_elses_answer_alike(api_as, school_admin_y, school_x):
    missing = api_as(school_admin_y).get("afterschool/schools/999999/schedule-check")
    other = api_as(school_admin_y).get(f"afterschool/schools/{school_x.pk}/schedule-check")
    assert missing.status_code == other.status_code == 404
    assert missing.json() == other.json()


def test_admin_adds_a_student_with_a_registered_guardian_only(api_as, school_admin_x, class_x, parent):
    url = f"afterschool/schools/{class_x.school_id}/students"
    body = {"class_id": class_x.pk, "name": "王小虎", "guardian_phones": ["13911112222"]}
    assert_error(api_as(school_admin_x).post(url, body), 422, "student.guardian_unknown")
    r = api_as(school_admin_x).post(url, {**body, "guardian_phones": [parent.phone], "left_behind": True})
    assert r.status_code == 201, r.content
    assert [c["name"] for c in api_as(parent).get("afterschool/children").json()] == ["王小虎"]


def test_school_staff_list_the_teachers_with_masked_phones(api_as, school_admin_x, teacher_x, bureau_staff, parent):
    teacher_x.phone = "13912345678"
    teacher_x.save()
    url = f"afterschool/schools/{teacher_x.memberships.get().school_id}/teachers"
    body = api_as(school_admin_x).get(url).json()
    assert {t["name"]: t["roles"] for t in body} == {"X 校管理员": ["school_admin"], "王老师": ["teacher"]}
    assert next(t["phone"] for t in body if t["name"] == "王老师") == "139****5678"
    for outsider in (bureau_staff, parent):
        assert_error(api_as(outsider).get(url), 404, "not_found")
