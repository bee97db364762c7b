"""GET /api/v1/institutions/{id}/compliance: the institution's own staff and the bureau roles of its town see the
findings (in Chinese, or English when asked); anyone else gets the same 404 as for a missing institution."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from institutions.models import Institution
from tests.conftest import TOWN_A, TOWN_B, assert_error, make_user, region
from tests.factories import (
    CourseFactory,
    FeePackageFactory,
    InstitutionFactory,
    ScheduleSlotFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def noncompliant(institution_a):
    """institution_a (arts, offline, no escrow) with a package over 5,000 yuan and a slot ending at 21:00."""
    course = CourseFactory(institution=institution_a, name="美术", category="arts")
    FeePackageFactory(course=course, name="年卡", hours=48, months=3, price=Decimal("5800.00"))
    ScheduleSlotFactory(course=course, weekday=1, start_time=time(19), end_time=time(21))
    StaffMemberFactory(institution=institution_a, competence_proof="美术专业毕业证书")
    return institution_a


def url(inst) -> str:
    return f"institutions/{inst.pk}/compliance"


def test_own_staff_see_the_findings_in_chinese(noncompliant, institution_staff, api_as):
    response = api_as(institution_staff).get(url(noncompliant))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["institution_id"] == noncompliant.pk
    assert body["risk_grade"] == "A"  # stored grade: not recomputed by a read
    assert body["evaluated_on"] == timezone.localdate().isoformat()
    assert [(f["rule_id"], f["severity"], f["field"], f["object_type"]) for f in body["findings"]] == [
        ("R-FEE-2", "high", "price", "package"),
        ("R-FEE-3", "high", "escrow", "institution"),
        ("R-TIME-2", "medium", "end_time", "slot"),
    ]
    assert "5800.00" in body["findings"][0]["message"] and "元" in body["findings"][0]["message"]
    assert body["findings"][1]["object_id"] == noncompliant.pk


def test_english_with_accept_language(noncompliant, institution_staff, api_as):
    body = api_as(institution_staff, lang="en-US,en;q=0.9").get(url(noncompliant)).json()
    messages = [f["message"] for f in body["findings"]]
    assert "escrow" in messages[1] and "yuan" in messages[0] and "20:30" in messages[2]
    assert all(not any("\u4e00" <= ch <= "\u9fff" and ch not in "美术年卡" for ch in m) for m in messages)


@pytest.mark.parametrize("persona", ["bureau_staff", "bureau_admin", "inspector_a"])
def test_bureau_roles_of_the_town_see_it(noncompliant, persona, request, api_as):
    response = api_as(request.getfixturevalue(persona)).get(url(noncompliant))
    assert response.status_code == 200, response.content
    assert len(response.json()["findings"]) == 3


def test_town_bureau_staff_see_it_too(noncompliant, api_as):
    town_staff = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    assert api_as(town_staff).get(url(noncompliant)).status_code == 200


@pytest.mark.parametrize("persona", ["parent", "inspector_b", "school_admin_x"])
def test_others_get_404(noncompliant, persona, request, api_as):
    assert_error(api_as(request.getfixturevalue(persona)).get(url(noncompliant)), 404, "not_found")


def test_staff_of_another_institution_get_404(noncompliant, api_as):
    other = InstitutionFactory(name="B 培训学校", town=region(TOWN_B))
    other_staff = make_user("他人员工", Role.INSTITUTION_STAFF, institution=other)
    assert_error(api_as(other_staff).get(url(noncompliant)), 404, "not_found")
    assert api_as(other_staff).get(url(other)).status_code == 200


def test_missing_institution_answers_like_a_foreign_one(bureau_staff, api_as):
    error = assert_error(api_as(bureau_staff, lang="en").get("institutions/999999/compliance"), 404, "not_found")
    assert error["message"] == "Institution not found"


def test_needs_a_token(noncompliant, anon):
    assert_error(anon.get(url(noncompliant)), 401)


def test_a_clean_institution_has_no_findings_and_shows_its_grade(institution_a, bureau_staff, api_as):
    Institution.objects.filter(pk=institution_a.pk).update(risk_grade="B", risk_updated_at=timezone.now())
    body = api_as(bureau_staff).get(url(institution_a)).json()
    assert body["findings"] == [] and body["risk_grade"] == "B" and body["risk_updated_at"].endswith("+08:00")
