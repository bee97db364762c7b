"""Every view of an institution's status agrees at every moment: a licence that expired yesterday reads expired in
the registry (page, API list and record, export) as on the QR page, before the nightly licence watch writes it, which
still does. A fee package that breaks a rule is marked in the public JSON. The verification link is readable over
the API by those who may see the record."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from institutions import licences
from institutions.models import FeePackage, Institution, VerificationToken
from institutions.selectors import public_institutions, with_effective_status
from tests.conftest import TOWN_B, make_user, region
from tests.institutions.helpers import make_course, make_institution

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from institutions.risk import recompute_risk
    from institutions.tasks import build_poster

    monkeypatch.setattr(build_poster, "delay", lambda *a: None)
    monkeypatch.setattr(recompute_risk, "delay", lambda *a: None)


def at(day: date, hour=0, minute=5):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI), tick=False)


def test_the_day_after_expiry_every_view_says_expired_and_the_nightly_task_still_writes_it(anon, api_as,
                                                                                            bureau_staff, settings):
    settings.PUBLIC_CACHE_SECONDS = 60  # the public answers kept before midnight are not served after it
    inst = make_institution("到期机构", licence_expires_on=date(2027, 3, 1), licence_issued_on=date(2022, 3, 1))
    token = VerificationToken.objects.get(institution=inst).token
    with at(date(2027, 3, 1), 23, 55):  # the last minutes of the last valid day
        assert inst.current_status == "licensed"
        assert anon.get(f"verify/{token}").json()["institution"]["status"]["code"] == "valid"
        assert [i["status"] for i in anon.get("institutions", {"q": "到期机构"}).json()["items"]] == ["licensed"]
    with at(date(2027, 3, 2), 0, 5):  # five minutes into the next day, the nightly task not yet run
        inst.refresh_from_db()
        assert inst.status == "licensed" and inst.current_status == "expired"
        assert anon.get(f"verify/{token}").json()["institution"]["status"]["code"] == "expired"
        assert anon.get("institutions", {"q": "到期机构"}).json()["items"] == []  # off the public whitelist
        staff = api_as(bureau_staff)
        assert [i["status"] for i in staff.get("institutions", {"q": "到期机构"}).json()["items"]] == ["expired"]
        assert staff.get(f"institutions/{inst.pk}").json()["status"] == "expired"
        assert not public_institutions().filter(pk=inst.pk).exists()
        assert with_effective_status(Institution.objects.all(), "expired").filter(pk=inst.pk).exists()
        assert not with_effective_status(Institution.objects.all(), "licensed").filter(pk=inst.pk).exists()
        assert licences.expire_licences() == [inst.pk]  # the nightly task writes what every view already said
        inst.refresh_from_db()
        assert inst.status == inst.current_status == "expired"


def test_a_rule_breaking_package_is_marked_in_the_public_json(anon):
    inst = make_institution("预收费机构", category="arts")
    course = make_course(inst)
    FeePackage.objects.create(course=course, name="年卡", hours=96, months=12, price=Decimal("9800.00"))
    FeePackage.objects.create(course=course, name="季卡", hours=40, months=3, price=Decimal("3000.00"))
    token = VerificationToken.objects.get(institution=inst).token
    packages = anon.get(f"verify/{token}").json()["institution"]["courses"][0]["packages"]
    by_name = {p["name"]: p for p in packages}
    assert by_name["季卡"]["breaks_rules"] is False and by_name["季卡"]["rule_findings"] == []
    assert by_name["年卡"]["breaks_rules"] is True
    assert {f["rule_id"] for f in by_name["年卡"]["rule_findings"]} == {"R-FEE-1", "R-FEE-2"}
    assert "12 个月" in by_name["年卡"]["rule_findings"][0]["message_zh"]


def test_the_verification_link_is_given_to_those_who_see_the_record(api_as, bureau_staff, parent, institution_staff,
                                                                    institution_a):
    token = VerificationToken.objects.create(institution=institution_a)
    for user in (bureau_staff, institution_staff):
        body = api_as(user).get(f"institutions/{institution_a.pk}/verification-link").json()
        assert body["verify_url"].endswith(f"/v/{token.token}") and body["rotated_before"] == 0
    staff_b = make_user("乙镇科员", "bureau_staff", region=region(TOWN_B))
    for user in (parent, staff_b):
        assert api_as(user).get(f"institutions/{institution_a.pk}/verification-link").status_code == 404
    path = f"institutions/{institution_a.pk}/verification-token/rotate"
    rotated = api_as(bureau_staff).post(path, {"reason": "仿冒"})
    assert rotated.status_code == 200
    body = api_as(bureau_staff).get(f"institutions/{institution_a.pk}/verification-link").json()
    assert body["rotated_before"] == 1 and body["verify_url"] == rotated.json()["verify_url"]
