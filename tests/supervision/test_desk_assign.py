"""The desk's "assign to a colleague" picker: only colleagues covering the complaint's town are offered, anyone else
is refused, the version the handler saw is checked, the assignment is audited and the colleague is told."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from core.models import AuditEvent, Notification
from supervision.complaints import services
from supervision.models import Complaint
from tests.conftest import TOWN_A, make_user, region
from tests.supervision.test_desk import filed, fresh, routed, signed_in  # noqa: F401 - routed is a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(db):
    return make_user("陈科员", Role.BUREAU_STAFF, region=region(TOWN_A))


@pytest.fixture
def taken(parent, registered, staff_a, routed):  # noqa: F811
    c = filed(parent, registered)
    return services.complaint_take(actor=staff_a, complaint_id=c.pk)


def options(html: str) -> dict[str, str]:
    select = re.search(r'<select id="assign-handler".*?</select>', html, re.S).group(0)
    return {v: name for v, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', select)}


def test_the_picker_lists_only_colleagues_covering_the_town(taken, staff_a, staff_b, colleague, supervisor):
    inactive = make_user("离职人员", Role.BUREAU_STAFF, region=region(TOWN_A))
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    html = signed_in(staff_a).get(f"/desk/complaints/{taken.pk}/").content.decode()
    assert 'data-testid="action-assign"' in html
    offered = options(html)
    assert str(colleague.pk) in offered and str(supervisor.pk) in offered  # the district covers town A
    assert str(staff_b.pk) not in offered  # town B's handler
    assert str(staff_a.pk) not in offered  # already the handler
    assert str(inactive.pk) not in offered


def test_assigning_a_colleague_is_audited_and_the_colleague_is_told(taken, staff_a, colleague):
    response = signed_in(staff_a).post(
        f"/desk/complaints/{taken.pk}/assign", {"version": taken.version, "handler_id": colleague.pk}
    )
    assert response.status_code == 302 and response["Location"].endswith("?done=assign")
    c = fresh(taken)
    assert c.handler_id == colleague.pk and c.version == taken.version + 1
    event = AuditEvent.objects.filter(verb="complaint.assign", object_id=str(c.pk)).latest("id")
    assert event.data["handler_id"] == colleague.pk and event.data["previous_handler_id"] == staff_a.pk
    assert Notification.objects.filter(recipient=colleague, kind="complaint.assign").exists()
    page = signed_in(staff_a).get(response["Location"]).content.decode()
    assert "陈科员" in page and 'data-testid="done"' in page
    # The colleague now works it from their own queue.
    assert f'data-testid="row-{c.pk}"' in signed_in(colleague).get("/desk/?flag=mine").content.decode()


def test_a_colleague_out_of_scope_or_no_one_is_refused(taken, staff_a, staff_b, parent):
    for bad in (staff_b.pk, parent.pk, "", "abc", 999999):
        response = signed_in(staff_a).post(f"/desk/complaints/{taken.pk}/assign", {"version": taken.version,
                                                                                   "handler_id": bad})  # fmt: skip
        assert response.status_code == 422, bad
        assert 'data-testid="field-error-assign"' in response.content.decode()
        assert fresh(taken).handler_id == staff_a.pk
    assert not AuditEvent.objects.filter(verb="complaint.assign", data__handler_id=staff_b.pk).exists()


def test_a_stale_page_gets_409_and_the_fresh_state(taken, staff_a, colleague, supervisor):
    seen = taken.version
    services.complaint_act(actor=supervisor, complaint_id=taken.pk, action="start", data={})
    response = signed_in(staff_a).post(f"/desk/complaints/{taken.pk}/assign", {"version": seen,
                                                                               "handler_id": colleague.pk})  # fmt: skip
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="stale-message"' in html and "调查中" in html
    assert fresh(taken).handler_id == staff_a.pk


def test_only_bureau_staff_of_the_town_may_assign(taken, staff_b, colleague, parent, inst_staff):
    for outsider in (staff_b, parent, inst_staff):
        response = signed_in(outsider).post(f"/desk/complaints/{taken.pk}/assign",
                                            {"version": taken.version, "handler_id": colleague.pk})  # fmt: skip
        assert response.status_code == 404
    assert Complaint.objects.get(pk=taken.pk).handler_id != colleague.pk


def test_no_picker_before_acceptance_or_after_the_answer(parent, registered, staff_a, routed):  # noqa: F811
    c = filed(parent, registered)
    assert 'data-testid="action-assign"' not in signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()
    response = signed_in(staff_a).post(f"/desk/complaints/{c.pk}/assign", {"version": c.version,
                                                                           "handler_id": staff_a.pk})  # fmt: skip
    assert response.status_code == 409 and fresh(c).status == "submitted"
