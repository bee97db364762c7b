"""The schema tells the truth about lengths: for each string field with a maxLength in the JSON body of a write
operation exercised here, a value of exactly maxLength is accepted and one character more is refused with 422 naming
the field. The fields come from /api/v1/openapi.json, so a limit changed on one side only fails here."""

from __future__ import annotations

import copy
import json

import pytest

from accounts.models import Role
from mobile_api.api import api
from tests.afterschool.admission_support import application_data
from tests.conftest import DISTRICT, TOWN_A, ApiClient, assert_error, login_tokens, make_user, region
from tests.factories import RoutingRuleFactory, SchoolFactory, TermFactory
from tests.institutions.helpers import credit_code, licence_number, make_institution
from tests.supervision.conftest import complaint_body
from tests.supervision.inspection_fixtures import ensure_checklist

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch"}


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _string_limits(schema: dict, components: dict, prefix: str = ""):
    """(dotted field, maxLength) for every string with a maxLength; `[]` marks the items of a list."""
    schema = _resolve(schema, components)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _string_limits(sub, components, prefix)
    for name, sub in schema.get("properties", {}).items():
        yield from _string_limits(sub, components, f"{prefix}.{name}" if prefix else name)
    if schema.get("type") == "array" and "items" in schema:
        yield from _string_limits(schema["items"], components, prefix + "[]")
    if schema.get("type") == "string" and "maxLength" in schema:
        yield prefix, schema["maxLength"]


def documented_limits() -> dict[tuple[str, str, str], int]:
    document = api.get_openapi_schema()
    components = document["components"]["schemas"]
    out = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in WRITES:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for field, limit in _string_limits(body["schema"], components):
                    out[(method, path, field)] = limit
    return out


# --- How to reach each operation with a body it accepts ------------------------------------------------------------


def _client(user) -> ApiClient:
    return ApiClient(login_tokens(user)["access"])


def _complaint_world():
    institution = make_institution("涪陵区小画家美术培训学校")
    parent = make_user("张家长", Role.PARENT, phone="13800000001", username=None)
    handler = make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))
    RoutingRuleFactory(town=institution.town, handler=handler)
    filed = _client(parent).post("complaints", complaint_body(institution))
    assert filed.status_code == 201, filed.content
    return institution, parent, handler, filed.json()["id"]


def _investigating():
    institution, parent, handler, cid = _complaint_world()
    h = _client(handler)
    version = h.get(f"complaints/{cid}").json()["version"]
    for action, extra in (("accept", {"version": version}), ("assign", {}), ("start", {})):
        r = h.post(f"complaints/{cid}/actions", {"action": action, **extra})
        assert r.status_code == 200, r.content
    return institution, parent, handler, cid


def file_complaint(field):
    institution = make_institution("涪陵区小画家美术培训学校")
    parent = make_user("张家长", Role.PARENT, phone="13800000001", username=None)
    if field.startswith("new_institution"):
        body = complaint_body(new_institution_name="某小区家教点", new_institution_address="敦仁街道某小区 3 栋")
        body["town_id"] = region(TOWN_A).pk
    else:
        body = complaint_body(institution)
    return _client(parent), "complaints", body


def post_message(field):
    _, parent, _, cid = _complaint_world()
    return _client(parent), f"complaints/{cid}/messages", {"body": "补充说明"}


def act_on_complaint(field):
    if field == "comment":  # a rejection carries a comment
        _, _, handler, cid = _complaint_world()
        return _client(handler), f"complaints/{cid}/actions", {"action": "reject", "reason": "out_of_remit"}
    _, _, handler, cid = _investigating()
    body = {"action": "answer", "outcome": "referred", "answer": "已移送", "referred_to": "市场监管局"}
    return _client(handler), f"complaints/{cid}/actions", body


def request_statement(field):
    _, _, handler, cid = _investigating()
    return _client(handler), f"complaints/{cid}/statement-requests", {"question": "请说明退费情况。"}


def answer_statement(field):
    institution, _, handler, cid = _investigating()
    asked = _client(handler).post(f"complaints/{cid}/statement-requests", {"question": "请说明退费情况。"})
    assert asked.status_code == 201, asked.content
    staff = make_user("赵经理", Role.INSTITUTION_STAFF, institution=institution)
    return _client(staff), f"statement-requests/{asked.json()['id']}/answer", {"statement": "已按剩余课时退费。"}


def _registration():
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
        "status": "licensed",
        "reason": "审批通过",
    }


def _town_staff():
    return make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))


def register_institution(field):
    return _client(_town_staff()), "institutions", _registration()


def edit_institution(field):
    institution = make_institution("涪陵区小画家美术培训学校")
    return _client(_town_staff()), f"institutions/{institution.pk}", {"name": "涪陵区小画家美术学校"}


def record_unlicensed(field):
    inspector = make_user("督查员甲", Role.INSPECTOR, region=region(TOWN_A))
    body = {"name": "某家教点", "address": "敦仁街道某小区", "town_id": region(TOWN_A).pk, "found_via": "检查发现"}
    return _client(inspector), "institutions/unlicensed", body


def change_status(field):
    institution = make_institution("涪陵区小画家美术培训学校")
    body = {"to_status": "rectifying", "reason": "超范围培训，责令整改"}
    return _client(_town_staff()), f"institutions/{institution.pk}/status", body


def declare_conflict(field):
    institution = make_institution("涪陵区小画家美术培训学校")
    inspector = make_user("督查员甲", Role.INSPECTOR, region=region(TOWN_A))
    return _client(inspector), "inspection-conflicts", {"institution_id": institution.pk, "reason": "亲属任职"}


def new_checklist_version(field):
    ensure_checklist()
    staff = make_user("科员", Role.BUREAU_STAFF, region=region(DISTRICT))
    current = _client(staff).get("checklists/training_institution").json()
    item = {"code": "NEW-1", "question_zh": "新增检查内容", "question_en": "A new item", "answer_type": "yes_no_na"}
    return _client(staff), "checklists/training_institution/versions", {"items": [item, *current["items"]], "note": ""}


def apply_for_admission(field):
    school = SchoolFactory(name="X 小学", town=region(TOWN_A))
    TermFactory(school=school)
    coach = make_user("陈教练", phone="13900000001")
    return _client(coach), "afterschool/admissions", application_data(school)


CASES = {
    ("post", "/api/v1/complaints"): file_complaint,
    ("post", "/api/v1/complaints/{complaint_id}/messages"): post_message,
    ("post", "/api/v1/complaints/{complaint_id}/actions"): act_on_complaint,
    ("post", "/api/v1/complaints/{complaint_id}/statement-requests"): request_statement,
    ("post", "/api/v1/statement-requests/{request_id}/answer"): answer_statement,
    ("post", "/api/v1/institutions"): register_institution,
    ("patch", "/api/v1/institutions/{institution_id}"): edit_institution,
    ("post", "/api/v1/institutions/unlicensed"): record_unlicensed,
    ("post", "/api/v1/institutions/{institution_id}/status"): change_status,
    ("post", "/api/v1/inspection-conflicts"): declare_conflict,
    ("post", "/api/v1/checklists/{code}/versions"): new_checklist_version,
    ("post", "/api/v1/afterschool/admissions"): apply_for_admission,
}
# Fields whose content has a shape of its own (a code from a list, a checksummed number): a string of the maximum
# length in any letter is refused for its shape, not its length.
SHAPED = {
    "category",  # a complaint category code
    "verification_token",  # the poster's token
    "credit_code",  # 18 characters with a check digit (spaces and dashes allowed around them)
    "licence_number",  # 教民…号
    "contact_phone",
    "id_number",  # a resident ID number, checksummed
}
# A field this letter does not fit (codes are ASCII).
LETTER = {"items[].code": "A", "items[].rule_id": "R"}

LIMITS = documented_limits()
EXERCISED = sorted(
    (method, path, field)
    for (method, path, field) in LIMITS
    if (method, path) in CASES and field.replace("[]", "").split(".")[-1] not in SHAPED
)


def _set(body: dict, field: str, value: str) -> dict:
    body = copy.deepcopy(body)
    target = body
    parts = field.split(".")
    for part in parts[:-1]:
        if part.endswith("[]"):
            target = target[part[:-2]][0]
        else:
            target = target[part]
    target[parts[-1]] = value
    return body


def _error_field(field: str) -> str:
    return field.replace("[]", ".0")


def _send(client: ApiClient, method: str, path: str, body: dict):
    if method == "post":
        return client.post(path, body)
    return client.raw(method, path, json.dumps(body).encode())


@pytest.mark.parametrize(("method", "path", "field"), EXERCISED, ids=lambda v: v)
def test_the_documented_maximum_is_accepted_and_one_more_refused(method, path, field):
    limit = LIMITS[(method, path, field)]
    letter = LETTER.get(field, "字")
    client, url, body = CASES[(method, path)](field)
    too_long = _send(client, method, url, _set(body, field, letter * (limit + 1)))
    error = assert_error(too_long, 422)
    assert _error_field(field) in error["fields"], error
    at_limit = _send(client, method, url, _set(body, field, letter * limit))
    assert at_limit.status_code < 400, (field, limit, at_limit.content)


def test_the_writes_named_in_the_contract_are_exercised():
    exercised = {(method, path) for method, path, _ in EXERCISED}
    for needed in CASES:
        assert needed in exercised, needed
