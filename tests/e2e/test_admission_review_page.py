"""The reviewers' queue in a real browser: the school's admin opens a scan (logged), returns nothing, approves the
application from the queue; the bureau then finds it in its own queue and admits it."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from afterschool.admission import services
from afterschool.admission.models import Admission
from core.models import AuditEvent
from tests.conftest import DISTRICT, PASSWORD, make_user, region
from tests.e2e.conftest import school_and_admin
from tests.e2e.test_login_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def submitted_application():

    from tests.afterschool.admission_support import add_documents, service_data

    school, school_admin = school_and_admin()
    bureau = make_user("王科长", Role.BUREAU_STAFF, region=region(DISTRICT))
    coach = make_user("何教练")
    data = service_data(school, seq=7, name="何教练")
    a = services.admission_create(actor=coach, **data)
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    return a, school_admin, bureau


def test_a_reviewer_approves_from_the_queue(live_server, page):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        a, school_admin, bureau = submitted_application()
        sign_in(page, live_server.url, school_admin.username, PASSWORD)
        page.goto(f"{live_server.url}/afterschool/admissions/review/")
        card = page.get_by_test_id(f"queue-{a.pk}")
        assert "何教练" in card.inner_text() and "学校审核中" in card.inner_text()

        # A scan opens through the logged view.
        with page.context.expect_page() as opened:
            card.get_by_role("link", name="照片", exact=True).click()
        opened.value.wait_for_load_state()
        opened.value.close()
        assert AuditEvent.objects.filter(verb="admission.document_viewed", actor=school_admin).count() == 1

        card.get_by_role("button", name="通过", exact=True).click()
        page.wait_for_load_state()
        assert "已通过" in page.get_by_test_id("flash").inner_text()
        assert page.get_by_test_id(f"queue-{a.pk}").count() == 0
        assert Admission.objects.get(pk=a.pk).status == "bureau_review"

        page.context.clear_cookies()
        sign_in(page, live_server.url, bureau.username, PASSWORD)
        page.goto(f"{live_server.url}/afterschool/admissions/review/")
        card = page.get_by_test_id(f"queue-{a.pk}")
        card.get_by_label("审核意见（退回时必填）").fill("材料齐全，同意准入")
        card.get_by_role("button", name="准入", exact=True).click()
        page.wait_for_load_state()
        assert "已准入" in page.get_by_test_id("flash").inner_text()
        a.refresh_from_db()
        assert a.status == "admitted" and a.message == "材料齐全，同意准入"
