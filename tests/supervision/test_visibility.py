"""Who sees what: a parent their own complaints, bureau staff those of their towns, the district supervisor all,
institution staff only the statement requests addressed to them (without the parent), anyone else 404."""

import pytest

from supervision.complaints.services import statement_request_create
from supervision.models import StatementRequest
from tests.conftest import assert_error

from .conftest import file

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_complaints(api_as, parent, other_parent, registered, registered_b):
    a = file(api_as(parent), registered).json()["id"]
    b = file(api_as(other_parent), registered_b).json()["id"]
    return a, b


def ids(api, **params):
    response = api.get("complaints", params)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["items"])


def test_each_sees_what_is_theirs(api_as, parent, other_parent, staff_a, staff_b, supervisor, two_complaints):
    a, b = two_complaints
    assert ids(api_as(parent)) == [a]
    assert ids(api_as(other_parent)) == [b]
    assert ids(api_as(staff_a)) == [a]
    assert ids(api_as(staff_b)) == [b]
    assert ids(api_as(supervisor)) == sorted([a, b])


def test_everyone_else_gets_404_for_the_same_complaint(
    api_as, other_parent, staff_b, inst_staff, inspector_a, school_admin_x, two_complaints
):
    a, _ = two_complaints
    for outsider in (other_parent, staff_b, inst_staff, inspector_a, school_admin_x):
        api = api_as(outsider)
        assert a not in ids(api)
        missing = assert_error(api.get("complaints/999999999"), 404)
        theirs = assert_error(api.get(f"complaints/{a}"), 404)
        assert missing == theirs  # not yours and missing answer alike: ids cannot be probed
        assert_error(api.get(f"complaints/{a}/messages"), 404)
        assert_error(api.post(f"complaints/{a}/messages", {"body": "你好"}), 404)
        assert_error(api.post(f"complaints/{a}/actions", {"action": "accept"}), 404)
        assert_error(api.post(f"complaints/{a}/statement-requests", {"question": "请说明情况。"}), 404)


def test_institution_staff_and_inspectors_list_no_complaints(api_as, inst_staff, inspector_a, two_complaints):
    assert ids(api_as(inst_staff)) == []
    assert ids(api_as(inspector_a)) == []


def test_a_handler_cannot_be_given_a_complaint_outside_their_towns(api_as, parent, registered_b, staff_a, supervisor):
    cid = file(api_as(parent), registered_b).json()["id"]
    assert ids(api_as(staff_a)) == []
    api_as(supervisor).post(f"complaints/{cid}/actions", {"action": "accept"})
    # Not eligible: staff_a does not cover town B.
    assert_error(
        api_as(supervisor).post(f"complaints/{cid}/actions", {"action": "assign", "handler_id": staff_a.pk}),
        422,
        "complaint.handler_not_eligible",
    )


def test_institution_staff_see_statement_requests_without_the_parent_unless_allowed(
    api_as, parent, other_parent, registered, staff_a, inst_staff
):
    hidden = file(api_as(parent), registered).json()["id"]
    shown = file(api_as(other_parent), registered, disclose_identity=True).json()["id"]
    for cid in (hidden, shown):
        api_as(staff_a).post(f"complaints/{cid}/actions", {"action": "accept"})
        statement_request_create(actor=staff_a, complaint_id=cid, question="请说明情况。")
    items = {row["id"]: row for row in api_as(inst_staff).get("statement-requests").json()["items"]}
    by_complaint = {r.complaint_id: r.pk for r in StatementRequest.objects.all()}
    hidden_row, shown_row = items[by_complaint[hidden]], items[by_complaint[shown]]
    assert hidden_row["complainant"] is None
    assert parent.name not in str(hidden_row) and parent.phone not in str(hidden_row)
    assert shown_row["complainant"] == {"name": other_parent.name, "phone": other_parent.phone}
    # Nothing else of the complaint: no description, no tracking number.
    assert "拒绝退还" not in str(items) and "TS-" not in str(items)


def test_statement_requests_of_other_institutions_are_404(api_as, parent, registered_b, staff_b, inst_staff):
    cid = file(api_as(parent), registered_b).json()["id"]
    api_as(staff_b).post(f"complaints/{cid}/actions", {"action": "accept"})
    request = statement_request_create(actor=staff_b, complaint_id=cid, question="请说明情况。")
    assert api_as(inst_staff).get("statement-requests").json()["count"] == 0
    assert_error(api_as(inst_staff).get(f"statement-requests/{request.pk}"), 404)
    assert_error(api_as(inst_staff).post(f"statement-requests/{request.pk}/answer", {"statement": "不是我们。"}), 404)
    assert_error(api_as(parent).get(f"statement-requests/{request.pk}"), 404)


def test_the_parent_view_hides_bureau_only_parts(api_as, parent, registered, staff_a):
    cid = file(api_as(parent), registered).json()["id"]
    mine = api_as(parent).get(f"complaints/{cid}").json()
    assert mine["parent_contact"] is None and mine["possible_duplicates"] == [] and mine["statements"] == []
    theirs = api_as(staff_a).get(f"complaints/{cid}").json()
    assert theirs["parent_contact"]["phone"] == parent.phone


def test_the_routing_table_is_the_bureaus(api_as, parent, staff_a, supervisor, inst_staff):
    assert_error(api_as(parent).get("complaint-routing"), 404)
    assert_error(api_as(inst_staff).get("complaint-routing"), 404)
    assert api_as(staff_a).get("complaint-routing").status_code == 200
    assert_error(api_as(staff_a).post("complaint-routing", {"handler_id": staff_a.pk}), 403)


def test_looking_at_the_parents_contact_is_audited(api_as, parent, registered, staff_a):
    from core.models import AuditEvent

    cid = file(api_as(parent), registered).json()["id"]
    api_as(parent).get(f"complaints/{cid}")  # the parent's own view: nothing to log
    assert not AuditEvent.objects.filter(verb="personal_data.view").exists()
    api_as(staff_a).get(f"complaints/{cid}")
    event = AuditEvent.objects.get(verb="personal_data.view", object_id=str(cid))
    assert event.actor == staff_a and event.data == {"fields": ["parent.name", "parent.phone"]}
