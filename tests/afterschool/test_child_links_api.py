"""Child links over the API (/api/v1/afterschool/child-links, /link-requests): the same services as the parent's
page and the school's confirmations; a retry with the same Idempotency-Key answers the first request; another
school's request answers 404; errors in the one JSON shape."""

from __future__ import annotations

import pytest

from afterschool.family import services as family
from afterschool.family.models import ChildLinkRequest, GuardianPhone
from core.models import AuditEvent, Notification
from tests.afterschool.conftest import make_student
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

LINKS = "afterschool/child-links"
REQUESTS = "afterschool/link-requests"


@pytest.fixture
def listed_child(school_x, class_x, school_admin_x):
    kid = make_student(school_x, class_x, "刘小宇")
    family.guardian_phones_set(actor=school_admin_x, student=kid, phones=["13800000001"])  # `parent`'s phone
    return kid


def _body(school, name, grade=None, number=None, klass=None):
    return {
        "school_id": school.pk,
        "grade": grade or klass.grade,
        "class_number": number or klass.number,
        "child_name": name,
        "relation": "妈妈",
    }


def test_the_class_list_phone_links_at_once_and_a_retry_creates_nothing(
    api_as, parent, listed_child, school_x, class_x
):
    api = api_as(parent)
    r = api.post(LINKS, _body(school_x, "刘小宇", klass=class_x), HTTP_IDEMPOTENCY_KEY="link-0001-abcdef")
    assert r.status_code == 201, r.content
    first = r.json()
    assert first["status"] == "confirmed" and first["confirmed_how"] == "class_list"
    assert first["student_id"] == listed_child.pk
    # The phone resends (the answer was lost): the same request, nothing new, no "already linked" refusal.
    again = api.post(LINKS, _body(school_x, "刘小宇", klass=class_x), HTTP_IDEMPOTENCY_KEY="link-0001-abcdef")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert ChildLinkRequest.objects.count() == 1
    assert AuditEvent.objects.filter(verb="afterschool.child_linked").count() == 1
    # Without a key, asking again is a clear refusal.
    assert_error(api.post(LINKS, _body(school_x, "刘小宇", klass=class_x)), 409, "family.already_linked")
    # The same key for another child: a client bug, refused.
    assert_error(
        api.post(LINKS, _body(school_x, "别的孩子", klass=class_x), HTTP_IDEMPOTENCY_KEY="link-0001-abcdef"),
        409,
        "idempotency.key_reused",
    )
    mine = api.get(LINKS).json()
    assert [c["name"] for c in mine["children"]] == ["刘小宇"]
    assert mine["count"] == 1 and mine["items"][0]["status_label"] == "已关联"


def test_the_school_confirms_a_request_the_list_does_not_name(
    api_as, other_parent, listed_child, school_x, class_x, school_admin_x, school_admin_y
):
    parent_api = api_as(other_parent)
    r = parent_api.post(LINKS, _body(school_x, "刘小宇", klass=class_x), HTTP_IDEMPOTENCY_KEY="k-other-00001")
    assert r.status_code == 201 and r.json()["status"] == "requested" and r.json()["student_id"] is None
    again = parent_api.post(LINKS, _body(school_x, "刘小宇", klass=class_x), HTTP_IDEMPOTENCY_KEY="k-other-00001")
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    assert ChildLinkRequest.objects.count() == 1
    assert Notification.objects.filter(recipient=school_admin_x, kind="afterschool.child_link_requested").count() == 1
    req_id = r.json()["id"]

    admin = api_as(school_admin_x)
    listing = admin.get(REQUESTS).json()
    assert listing["count"] == 1
    item = listing["items"][0]
    assert item["child_name"] == "刘小宇" and item["parent_phone"].count("*") >= 4
    assert {"id": listed_child.pk, "name": "刘小宇"} in item["candidates"]

    # Another school's admin: the list is empty and the request is 404 (as a missing one).
    other = api_as(school_admin_y)
    assert other.get(REQUESTS).json() == {"items": [], "count": 0}
    assert_error(other.post(f"{REQUESTS}/{req_id}/decide", {"decision": "confirm"}), 404)
    assert_error(admin.post(f"{REQUESTS}/999999/decide", {"decision": "confirm"}), 404)

    decide = f"{REQUESTS}/{req_id}/decide"
    r = admin.post(decide, {"decision": "confirm", "student_id": listed_child.pk, "note": "已电话核实"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "confirmed" and r.json()["confirmed_how"] == "school"
    assert listed_child.guardians.filter(pk=other_parent.pk).exists()
    assert GuardianPhone.objects.filter(student=listed_child, phone=other_parent.phone).exists()
    # A retry of the same decision answers the request as it is; the opposite decision is refused.
    assert admin.post(decide, {"decision": "confirm", "student_id": listed_child.pk}).status_code == 200
    assert AuditEvent.objects.filter(verb="afterschool.child_link_decided").count() == 1
    assert Notification.objects.filter(recipient=other_parent, kind="afterschool.child_link_decided").count() == 1
    assert_error(admin.post(decide, {"decision": "decline"}), 409, "family.request_decided")
    assert admin.get(REQUESTS).json()["count"] == 0  # nothing pending any more
    assert admin.get(REQUESTS, {"status": "confirmed"}).json()["count"] == 1
    assert parent_api.get(LINKS).json()["items"][0]["status"] == "confirmed"


def test_a_declined_request(api_as, other_parent, listed_child, school_x, class_x, school_admin_x):
    req_id = api_as(other_parent).post(LINKS, _body(school_x, "刘小宇", klass=class_x)).json()["id"]
    admin = api_as(school_admin_x)
    r = admin.post(f"{REQUESTS}/{req_id}/decide", {"decision": "decline", "note": "名单中没有"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert not listed_child.guardians.filter(pk=other_parent.pk).exists()
    assert admin.post(f"{REQUESTS}/{req_id}/decide", {"decision": "decline"}).status_code == 200


def test_who_may_call_what(api_as, anon, parent, school_admin_x, listed_child, school_x, class_x):
    assert_error(anon.get(LINKS), 401)
    assert_error(anon.post(LINKS, _body(school_x, "刘小宇", klass=class_x)), 401)
    # A parent has no school's requests to list or decide.
    assert_error(api_as(parent).get(REQUESTS), 404)
    req = family.child_link_request(actor=parent, school_id=school_x.pk, grade=class_x.grade,
                                    class_number=class_x.number, child_name="不在名单")  # fmt: skip
    assert_error(api_as(parent).post(f"{REQUESTS}/{req.pk}/decide", {"decision": "confirm"}), 404)
    # A school admin's own list of links is theirs alone (empty), never the parents'.
    assert api_as(school_admin_x).get(LINKS).json() == {"children": [], "items": [], "count": 0}


def test_bad_input_in_the_one_error_shape(api_as, parent, school_x, class_x, school_admin_x):
    api = api_as(parent)
    err = assert_error(
        api.post(LINKS, {"school_id": school_x.pk, "grade": 0, "class_number": 1, "child_name": ""}), 422
    )
    assert err["fields"]
    assert_error(api.post(LINKS, _body(school_x, "刘小宇", grade=3, number=42)), 422, "family.class_unknown")
    err = assert_error(api.post(LINKS, {**_body(school_x, "刘小宇", klass=class_x), "school_id": 10**9}), 422)
    assert err["code"] == "family.school_unknown"
    assert_error(api.post(LINKS, _body(school_x, "刘小宇", klass=class_x), HTTP_IDEMPOTENCY_KEY="bad key!"), 400)
    req = family.child_link_request(actor=parent, school_id=school_x.pk, grade=class_x.grade,
                                    class_number=class_x.number, child_name="不在名单")  # fmt: skip
    admin = api_as(school_admin_x)
    assert_error(admin.post(f"{REQUESTS}/{req.pk}/decide", {"decision": "maybe"}), 422)
    # Confirming without naming a child of the list (the request names none): told which field.
    err = assert_error(admin.post(f"{REQUESTS}/{req.pk}/decide", {"decision": "confirm"}), 422)
    assert "student_id" in err["fields"]
    assert ChildLinkRequest.objects.get(pk=req.pk).status == "requested"


def test_the_schools_list_costs_flat_queries(api_as, parent, school_x, class_x, school_admin_x,
                                            django_assert_max_num_queries):  # fmt: skip
    from accounts.models import Role
    from tests.conftest import make_user

    def ask(n, start):
        for i in range(start, start + n):
            p = make_user(f"家长{i}", Role.PARENT, phone=f"1390000{i:04d}", username=None)
            family.child_link_request(actor=p, school_id=school_x.pk, grade=class_x.grade,
                                      class_number=class_x.number, child_name=f"孩子{i}")  # fmt: skip

    admin = api_as(school_admin_x)
    ask(2, 0)
    admin.get(REQUESTS)
    with django_assert_max_num_queries(30) as few:
        assert admin.get(REQUESTS).json()["count"] == 2
    n = len(few.captured_queries)
    ask(15, 100)
    with django_assert_max_num_queries(n):
        assert admin.get(REQUESTS).json()["count"] == 17
