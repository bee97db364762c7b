"""The registry through the API: public list and search, the full record for the bureau and the institution's own
staff, bureau edits with validation, status transitions with reasons, and staff proposals approved by the bureau."""

import json

import pytest

from accounts import scope
from accounts.models import Role
from core.models import AuditEvent
from institutions.models import ChangeProposal, Course, FeePackage, Institution, StaffMember
from tests.conftest import TOWN_A, TOWN_B, ApiClient, assert_error, make_user, region
from tests.factories import StaffMemberFactory
from tests.institutions.helpers import credit_code, licence_number, make_course, make_institution, make_package

pytestmark = pytest.mark.django_db

VALID_ID = "11010519491231002X"


def registration(**extra):
    return {
        "name": "涪陵区新东方培训学校",
        "town_id": region(TOWN_A).pk,
        "credit_code": credit_code(),
        "licence_number": licence_number(7),
        "licence_issued_on": "2024-01-01",
        "licence_expires_on": "2027-01-01",
        "category": "science",
        "mode": "offline",
        "contact_phone": "023-72281234",
        "address": "敦仁街道兴华中路 8 号",
        "latitude": "29.703100",
        "longitude": "107.389800",
        "floor_area_m2": "300.00",
        "max_students_present": 80,
        "status": "licensed",
        "reason": "审批通过",
        **extra,
    }


# --- Public list and search ------------------------------------------------------------------------------------------


def test_the_public_sees_only_the_whitelist(anon):
    make_institution("甲培训", status="licensed")
    make_institution("乙培训", status="suspended")
    make_institution("丙培训", status="unlicensed", credit_code=None)
    body = anon.get("institutions").json()
    assert [i["name"] for i in body["items"]] == ["甲培训"]
    assert body["items"][0]["risk_grade"] is None  # internal


def test_bureau_staff_see_every_status_in_their_towns(bureau_staff, api_as):
    make_institution("甲培训", status="licensed")
    make_institution("乙培训", status="suspended")
    body = api_as(bureau_staff).get("institutions").json()
    assert {i["name"] for i in body["items"]} == {"甲培训", "乙培训"}
    assert body["items"][0]["risk_grade"] == "A"


def test_a_town_inspector_sees_other_towns_only_on_the_whitelist(inspector_a, api_as):
    make_institution("敦仁停业", town=TOWN_A, status="suspended")
    make_institution("李渡停业", town=TOWN_B, status="suspended")
    make_institution("李渡正常", town=TOWN_B, status="licensed")
    names = {i["name"] for i in api_as(inspector_a).get("institutions").json()["items"]}
    assert names == {"敦仁停业", "李渡正常"}


def test_search_by_pinyin_initials_name_and_code(anon):
    target = make_institution("重庆新东方学校")
    make_institution("涪陵美术中心")
    assert [i["name"] for i in anon.get("institutions", {"q": "xdf"}).json()["items"]] == ["重庆新东方学校"]
    assert [i["name"] for i in anon.get("institutions", {"q": "新东方"}).json()["items"]] == ["重庆新东方学校"]
    assert [i["id"] for i in anon.get("institutions", {"q": target.credit_code.lower()}).json()["items"]] == [target.pk]


def test_filters_by_town_category_and_status(bureau_staff, api_as):
    make_institution("甲", town=TOWN_A, category="sports")
    make_institution("乙", town=TOWN_B, category="sports")
    make_institution("丙", town=TOWN_A, category="arts", status="rectifying")
    client = api_as(bureau_staff)
    assert {i["name"] for i in client.get("institutions", {"town_id": region(TOWN_A).pk}).json()["items"]} == {
        "甲",
        "丙",
    }
    assert {i["name"] for i in client.get("institutions", {"category": "sports"}).json()["items"]} == {"甲", "乙"}
    assert {i["name"] for i in client.get("institutions", {"status": "rectifying"}).json()["items"]} == {"丙"}
    assert_error(client.get("institutions", {"category": "cooking"}), 422)


def test_near_a_point_within_a_radius_nearest_first(anon):
    make_institution("近", latitude="29.7031", longitude="107.3898")
    make_institution("稍远", latitude="29.7200", longitude="107.3898")  # about 1.9 km north
    make_institution("远", latitude="29.9000", longitude="107.3898")  # about 22 km
    body = anon.get("institutions", {"lat": 29.7031, "lng": 107.3898, "radius_km": 5}).json()
    assert [i["name"] for i in body["items"]] == ["近", "稍远"]
    assert body["items"][1]["distance_km"] == pytest.approx(1.88, abs=0.05)
    assert_error(anon.get("institutions", {"lat": 29.7}), 422)
    assert_error(anon.get("institutions", {"lat": 91, "lng": 107}), 422)


def test_a_list_page_costs_the_same_queries_for_10_and_100_rows(bureau_staff, api_as, django_assert_max_num_queries):
    for i in range(100):
        make_institution(f"机构{i:03d}", town=TOWN_A if i % 2 else TOWN_B)
    client = api_as(bureau_staff)
    client.get("me")  # with Redis the sign-in is cached after the first request: measure both pages after it
    scope.town_ids(bureau_staff)  # the region tree is read once per process (accounts.scope), not per request
    with django_assert_max_num_queries(6) as small:
        assert len(client.get("institutions", {"page_size": 10}).json()["items"]) == 10
    with django_assert_max_num_queries(6) as large:
        assert len(client.get("institutions", {"page_size": 100}).json()["items"]) == 100
    assert len(small.captured_queries) == len(large.captured_queries)


# --- Registering and editing ---------------------------------------------------------------------------------------


def test_bureau_staff_register_an_institution(town_a_staff, api_as):
    response = api_as(town_a_staff).post("institutions", registration())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "licensed"
    inst = Institution.objects.get(pk=body["id"])
    assert inst.name_initials.startswith("flqxdf")
    assert inst.tokens.filter(revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(verb="institution.register", object_id=str(inst.pk), to_state="licensed").exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("credit_code", "91350100M000100Y44"),  # wrong check digit
        ("licence_number", "民教12345号"),
        ("licence_expires_on", "2023-12-31"),  # before the issue date
        ("latitude", "51.5074"),  # London: with a Chinese-looking longitude it is still outside
        ("contact_phone", "call me"),
    ],
)
def test_bad_registry_input_names_the_field_and_writes_nothing(town_a_staff, api_as, field, value):
    data = registration(**{field: value})
    if field == "latitude":
        data["longitude"] = "-0.1278"
    error = assert_error(api_as(town_a_staff).post("institutions", data), 422)
    assert field in error["fields"] or (field == "latitude" and "longitude" in error["fields"])
    assert not Institution.objects.exists()


def test_a_duplicate_credit_code_is_409(town_a_staff, api_as):
    existing = make_institution()
    error = assert_error(
        api_as(town_a_staff).post("institutions", registration(credit_code=existing.credit_code)),
        409,
        "institution.duplicate_credit_code",
    )
    assert "credit_code" in error["fields"]
    assert Institution.objects.count() == 1


@pytest.mark.parametrize("persona", ["parent", "inspector_a", "school_admin_x", "institution_staff"])
def test_only_bureau_editors_register(request, persona, api_as):
    user = request.getfixturevalue(persona)
    assert_error(api_as(user).post("institutions", registration()), 403, "permission_denied")
    assert not Institution.objects.filter(name="涪陵区新东方培训学校").exists()


def test_town_staff_cannot_register_in_another_town(town_a_staff, api_as):
    assert_error(api_as(town_a_staff).post("institutions", registration(town_id=region(TOWN_B).pk)), 403)


def test_edit_is_audited_with_the_changed_fields(town_a_staff, api_as):
    inst = make_institution()
    response = api_as(town_a_staff).raw("patch", f"institutions/{inst.pk}", json.dumps({"address": "新地址 9 号"}))
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(verb="institution.update")
    assert event.data["changes"]["address"]["to"] == "新地址 9 号"


# --- Who sees the full record --------------------------------------------------------------------------------------


def test_the_full_record_masks_personal_data(institution_staff, institution_a, api_as):
    StaffMemberFactory(institution=institution_a, id_number_last4="002X", teacher_certificate_no="20213500120001234")
    body = api_as(institution_staff).get(f"institutions/{institution_a.pk}").json()
    staff = body["staff"][0]
    assert staff["id_number"] == "**************002X"
    assert staff["teacher_certificate_no"].startswith("2021") and "*" in staff["teacher_certificate_no"]
    assert "id_number_hash" not in str(body)


@pytest.mark.parametrize("persona", ["parent", "other_parent", "inspector_b", "school_admin_x"])
def test_others_get_404_on_the_record_and_its_changes(request, persona, institution_a, api_as):
    client = api_as(request.getfixturevalue(persona))
    assert_error(client.get(f"institutions/{institution_a.pk}"), 404, "not_found")
    assert_error(
        client.post(f"institutions/{institution_a.pk}/changes", {"kind": "course", "action": "create", "data": {}}), 404
    )
    assert_error(client.get(f"institutions/{institution_a.pk}/proposals"), 404)
    assert_error(client.post(f"institutions/{institution_a.pk}/status", {"to_status": "revoked", "reason": "x"}), 404)


def test_staff_of_another_institution_get_404(api_as, institution_a):
    other = make_institution("别家机构")
    user = make_user("别家员工", Role.INSTITUTION_STAFF, institution=other)
    assert_error(api_as(user).get(f"institutions/{institution_a.pk}"), 404)


# --- Status ------------------------------------------------------------------------------------------------------


def test_status_change_needs_a_reason_and_is_audited(
    town_a_staff, institution_staff, institution_a, api_as, django_capture_on_commit_callbacks
):
    from institutions.models import Status

    institution_a.status = Status.LICENSED
    institution_a.save()
    client = api_as(town_a_staff)
    assert_error(client.post(f"institutions/{institution_a.pk}/status", {"to_status": "rectifying", "reason": ""}), 422)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"institutions/{institution_a.pk}/status", {"to_status": "rectifying", "reason": "超范围培训，责令整改"}
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rectifying"
    event = AuditEvent.objects.get(verb="institution.status")
    assert (event.from_state, event.to_state, event.actor) == ("licensed", "rectifying", town_a_staff)
    assert institution_staff.notifications.filter(kind="institution.status_changed").exists()


def test_the_whitelist_takes_only_an_institution_with_its_licence(town_a_staff, api_as):
    client = api_as(town_a_staff)
    for missing, empty in (("licence_number", ""), ("licence_issued_on", None), ("licence_expires_on", None)):
        response = client.post("institutions", registration(**{missing: empty}))
        assert_error(response, 422, "request.invalid")
        assert missing in response.json()["error"]["fields"]
    assert not Institution.objects.exists()
    # As an applicant it may come without one; to be licensed it needs one that has not expired.
    applicant = client.post("institutions", registration(status="applied", licence_number="")).json()
    response = client.post(f"institutions/{applicant['id']}/status", {"to_status": "licensed", "reason": "审批通过"})
    assert_error(response, 409, "institution.licence_incomplete")
    assert "licence_number" in response.json()["error"]["fields"]
    lapsed = make_institution(status="expired", licence_expires_on="2025-06-30", licence_issued_on="2022-07-01")
    response = client.post(f"institutions/{lapsed.pk}/status", {"to_status": "licensed", "reason": "恢复"})
    assert_error(response, 409, "institution.licence_incomplete")
    assert "licence_expires_on" in response.json()["error"]["fields"]
    assert Institution.objects.get(pk=applicant["id"]).status == "applied"
    assert Institution.objects.get(pk=lapsed.pk).status == "expired"


def test_a_licensed_institution_cannot_lose_its_licence_number(town_a_staff, api_as):
    inst = make_institution()
    response = api_as(town_a_staff).raw("patch", f"institutions/{inst.pk}", json.dumps({"licence_number": ""}))
    assert_error(response, 422, "request.invalid")
    inst.refresh_from_db()
    assert inst.licence_number


def test_an_edit_that_changes_nothing_writes_nothing(town_a_staff, api_as):
    inst = make_institution(address="涪陵区测试路 1 号")
    before = Institution.objects.get(pk=inst.pk).updated_at
    response = api_as(town_a_staff).raw(
        "patch", f"institutions/{inst.pk}", json.dumps({"address": "涪陵区测试路 1 号"})
    )
    assert response.status_code == 200, response.content
    assert Institution.objects.get(pk=inst.pk).updated_at == before
    assert not AuditEvent.objects.filter(verb="institution.update").exists()


def test_impossible_transitions_are_409(town_a_staff, api_as):
    inst = make_institution(status="revoked")
    assert_error(
        api_as(town_a_staff).post(f"institutions/{inst.pk}/status", {"to_status": "licensed", "reason": "想恢复"}),
        409,
        "institution.bad_transition",
    )
    assert (
        api_as(town_a_staff)
        .post(f"institutions/{inst.pk}/status", {"to_status": "closed", "reason": "注销"})
        .status_code
        == 200
    )


def test_inspectors_see_but_cannot_change_status(inspector_a, institution_a, api_as):
    assert api_as(inspector_a).get(f"institutions/{institution_a.pk}").status_code == 200
    assert_error(
        api_as(inspector_a).post(f"institutions/{institution_a.pk}/status", {"to_status": "suspended", "reason": "x"}),
        403,
    )


# --- Proposals -----------------------------------------------------------------------------------------------------


def test_staff_propose_a_course_and_bureau_approves_with_the_diff(
    institution_staff, institution_a, town_a_staff, api_as
):
    staff_client, bureau = api_as(institution_staff), api_as(town_a_staff)
    response = staff_client.post(
        f"institutions/{institution_a.pk}/changes",
        {
            "kind": "course",
            "action": "create",
            "data": {"name": "少儿编程", "category": "science", "mode": "offline", "class_minutes": 90, "min_age": 8},
        },
    )
    assert response.status_code == 202, response.content
    proposal = response.json()["proposal"]
    assert proposal["state"] == "pending"
    assert proposal["diff"]["name"] == {"from": None, "to": "少儿编程"}
    assert not Course.objects.filter(name="少儿编程").exists()  # not before approval
    assert town_a_staff.notifications.filter(kind="proposal.submitted").exists()

    listed = bureau.get(f"institutions/{institution_a.pk}/proposals", {"state": "pending"}).json()
    assert listed["count"] == 1 and listed["items"][0]["diff"]["class_minutes"]["to"] == 90
    reviewed = bureau.post(f"proposals/{proposal['id']}/review", {"approve": True, "note": "同意"})
    assert reviewed.status_code == 200, reviewed.content
    assert reviewed.json()["state"] == "approved"
    course = Course.objects.get(name="少儿编程")
    assert reviewed.json()["applied_object_id"] == course.pk
    assert AuditEvent.objects.filter(verb="proposal.review", to_state="approved").exists()
    assert_error(bureau.post(f"proposals/{proposal['id']}/review", {"approve": True}), 409, "proposal.not_pending")


def test_a_package_price_change_shows_from_and_to(institution_staff, institution_a, town_a_staff, api_as):
    package = make_package(make_course(institution_a), price="3000.00")
    response = api_as(institution_staff).post(
        f"institutions/{institution_a.pk}/changes",
        {
            "kind": "package",
            "action": "update",
            "target_id": package.pk,
            "data": {"price": "3200.00"},
        },
    )
    assert response.status_code == 202, response.content
    assert response.json()["proposal"]["diff"] == {"price": {"from": "3000.00", "to": "3200.00"}}
    package.refresh_from_db()
    assert str(package.price) == "3000.00"
    api_as(town_a_staff).post(f"proposals/{response.json()['proposal']['id']}/review", {"approve": True})
    package.refresh_from_db()
    assert str(package.price) == "3200.00"


def test_a_rejected_proposal_changes_nothing(institution_staff, institution_a, town_a_staff, api_as):
    course = make_course(institution_a)
    response = api_as(institution_staff).post(
        f"institutions/{institution_a.pk}/changes",
        {
            "kind": "course",
            "action": "delete",
            "target_id": course.pk,
        },
    )
    proposal_id = response.json()["proposal"]["id"]
    assert (
        api_as(town_a_staff)
        .post(f"proposals/{proposal_id}/review", {"approve": False, "note": "仍有学员"})
        .json()["state"]
        == "rejected"
    )
    assert Course.objects.filter(pk=course.pk).exists()
    assert institution_staff.notifications.filter(kind="proposal.reviewed").exists()


def test_staff_proposal_stores_no_raw_id_number(institution_staff, institution_a, town_a_staff, api_as):
    response = api_as(institution_staff).post(
        f"institutions/{institution_a.pk}/changes",
        {
            "kind": "staff",
            "action": "create",
            "data": {
                "name": "李老师",
                "id_number": VALID_ID,
                "teacher_certificate_no": "20215000000001",
                "full_time": True,
            },
        },
    )
    assert response.status_code == 202, response.content
    proposal = ChangeProposal.objects.get()
    assert VALID_ID not in str(proposal.after) and VALID_ID not in str(response.json())
    assert response.json()["proposal"]["diff"]["id_number_last4"]["to"] == "002X"
    api_as(town_a_staff).post(f"proposals/{proposal.pk}/review", {"approve": True})
    member = StaffMember.objects.get(name="李老师")
    assert member.id_number_last4 == "002X" and len(member.id_number_hash) == 64


def test_bureau_edits_apply_at_once(town_a_staff, institution_a, api_as):
    course = make_course(institution_a)
    response = api_as(town_a_staff).post(
        f"institutions/{institution_a.pk}/changes",
        {
            "kind": "package",
            "action": "create",
            "data": {"course_id": course.pk, "name": "春季班", "hours": 20, "months": 2, "price": "1600.00"},
        },
    )
    assert response.status_code == 200, response.content
    assert FeePackage.objects.get(pk=response.json()["object_id"]).price == 1600


@pytest.mark.parametrize(
    "data, field",
    [
        ({"hours": 0}, "hours"),
        ({"price": "-1.00"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"months": 0}, "months"),
    ],
)
def test_bad_package_input_is_refused(town_a_staff, institution_a, api_as, data, field):
    course = make_course(institution_a)
    payload = {"course_id": course.pk, "name": "班", "hours": 20, "months": 2, "price": "100.00", **data}
    error = assert_error(
        api_as(town_a_staff).post(
            f"institutions/{institution_a.pk}/changes", {"kind": "package", "action": "create", "data": payload}
        ),
        422,
    )
    assert field in error["fields"]
    assert not FeePackage.objects.exists()


def test_an_invalid_staff_id_number_is_refused(institution_staff, institution_a, api_as):
    error = assert_error(
        api_as(institution_staff).post(
            f"institutions/{institution_a.pk}/changes",
            {"kind": "staff", "action": "create", "data": {"name": "某人", "id_number": "110105194912310021"}},
        ),
        422,
    )
    assert "id_number" in error["fields"]


def test_a_course_of_another_institution_cannot_be_targeted(institution_staff, institution_a, api_as):
    foreign = make_course(make_institution("别家"))
    assert_error(
        api_as(institution_staff).post(
            f"institutions/{institution_a.pk}/changes",
            {"kind": "course", "action": "update", "target_id": foreign.pk, "data": {"name": "偷改"}},
        ),
        404,
    )


def test_unlicensed_record_by_an_inspector(inspector_a, api_as):
    response = api_as(inspector_a).post(
        "institutions/unlicensed",
        {
            "name": "某小区家教点",
            "address": "敦仁街道某小区 3 栋",
            "town_id": region(TOWN_A).pk,
            "found_via": "检查发现",
        },
    )
    assert response.status_code == 201, response.content
    inst = Institution.objects.get(pk=response.json()["id"])
    assert inst.status == "unlicensed" and inst.found_via == "检查发现"
    assert_error(ApiClient().post("institutions/unlicensed", {}), 401)
