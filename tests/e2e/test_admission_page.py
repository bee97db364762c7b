"""The public page of admitted third-party institutions in a real browser: the admitted institution is listed, its
people and the individuals admitted beside it are not, and a revocation takes the institution off the page."""

from datetime import date

import pytest

from afterschool.admission import services
from tests.conftest import TOWN_A, make_user, region
from tests.e2e.conftest import school_and_admin
from tests.factories import InstitutionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_public_page_lists_admitted_third_parties_only(page, live_server):
    from accounts.models import Role
    from tests.afterschool.admission_support import admitted

    school, school_admin = school_and_admin()
    bureau = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A).parent)
    third = InstitutionFactory(
        credit_code=None, category="other", address="", token=False,  # the model's defaults, not the factory's
        name="涪陵区小画家美术培训学校",
        town=region(TOWN_A),
        status="licensed",
        licence_number="教民1500102号",
        licence_issued_on=date(2025, 1, 1),
        licence_expires_on=date(2099, 1, 1),
        on_national_platform=True,
        national_platform_since=date(2023, 3, 1),
    )
    manager = make_user("赵经理", Role.INSTITUTION_STAFF, institution=third)
    sent = admitted(
        manager,
        school_admin,
        bureau,
        school,
        seq=2,
        name="马画师",
        institution_id=third.pk,
        fee_per_lesson="60",
        market_price="100",
    )
    admitted(make_user("何教练"), school_admin, bureau, school, seq=1, name="何教练")

    page.goto(f"{live_server.url}/afterschool/third-parties")
    table = page.get_by_test_id("third-parties")
    assert "涪陵区小画家美术培训学校" in table.inner_text()
    assert "2023-03-01" in table.inner_text() or "2023年3月1日" in table.inner_text()
    body = page.content()
    assert "马画师" not in body and "何教练" not in body

    services.admission_revoke(actor=bureau, admission=sent, reason="not_delivering")
    page.reload()
    assert "涪陵区小画家美术培训学校" not in page.get_by_test_id("third-parties").inner_text()
