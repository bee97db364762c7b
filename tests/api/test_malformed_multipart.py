"""Every route that takes a file (found in the OpenAPI document: operations with a multipart/form-data body, so a
route added later is covered) answers a malformed multipart body with 400 `request.bad_multipart`, or 401/403/404
for a caller without the right, never 500. Where the handler can, the object's access check comes before the body
is read."""

import re

import pytest

from tests.afterschool.admission_support import application_data
from tests.conftest import ApiClient, assert_error, make_user
from tests.factories import TermFactory

pytestmark = pytest.mark.django_db

BOUNDARY = "sjboundary"


def _headers_over_8kb() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        f"X-Padding: {'a' * 9000}\r\n\r\nzz\r\n--{BOUNDARY}--\r\n"
    ).encode()


MALFORMED = {
    "headers over 8 KB": (_headers_over_8kb(), f"multipart/form-data; boundary={BOUNDARY}"),
    "no boundary": (b"--x\r\nabc", "multipart/form-data"),
    "bad boundary": (b"--x\r\nabc", "multipart/form-data; boundary=\x7f"),
}


def multipart_operations(client) -> list[tuple[str, str]]:
    schema = client.get("/api/v1/openapi.json").json()
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "multipart/form-data" in (operation.get("requestBody") or {}).get("content", {}):
                found.append((method, path))
    return found


def concrete(path: str) -> str:
    path = path.replace("{photo_uuid}", "6f1c9a7e-1111-4111-8111-111111111111")
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_routes_that_take_files_are_found(client):
    found = {path for _, path in multipart_operations(client)}
    assert {
        "/api/v1/complaints",
        "/api/v1/inspections/{inspection_id}/photos/{photo_uuid}",
        "/api/v1/rectification-orders/{order_id}/photos/{photo_uuid}",
        "/api/v1/institutions/import",
        "/api/v1/afterschool/admissions/{admission_id}/documents",
        "/api/v1/afterschool/admission-register/import",
    } <= found


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_multipart_body_is_never_a_500(client, api_as, bureau_admin, parent, inspector_a, kind):
    body, content_type = MALFORMED[kind]
    callers = {"bureau admin": api_as(bureau_admin), "parent": api_as(parent), "inspector": api_as(inspector_a)}
    for method, path in multipart_operations(client):
        url = concrete(path)
        # Authentication comes before the body: no token, 401 whatever the body.
        assert_error(ApiClient().raw(method, url, body, content_type=content_type), 401)
        for who, api in callers.items():
            response = api.raw(method, url, body, content_type=content_type)
            assert response.status_code in (400, 403, 404), (who, method, path, response.content)
            error = assert_error(response, response.status_code)
            if response.status_code == 400:
                assert error["code"] == "request.bad_multipart", (who, path, error)


def test_headers_over_8kb_on_the_registry_import_are_a_clear_400(api_as, bureau_admin):
    body, content_type = MALFORMED["headers over 8 KB"]
    response = api_as(bureau_admin, lang="en").raw("post", "institutions/import", body, content_type=content_type)
    error = assert_error(response, 400, "request.bad_multipart")
    assert error["message"] == "Malformed multipart body"


def test_an_admission_document_is_checked_for_access_before_the_body_is_read(api_as, school_x):
    term_x = TermFactory(school=school_x)
    coach = make_user("陈教练", phone="13900000001")
    me = api_as(coach)
    admission_id = me.post("afterschool/admissions", application_data(term_x.school)).json()["id"]
    url = f"afterschool/admissions/{admission_id}/documents"
    body, content_type = MALFORMED["headers over 8 KB"]
    # A stranger learns nothing, not even that the body was malformed: the same 404 as for a missing application.
    stranger = api_as(make_user("路人", phone="13900000002"))
    assert_error(stranger.raw("post", url, body, content_type=content_type), 404, "not_found")
    # The applicant is told the body is malformed.
    assert_error(me.raw("post", url, body, content_type=content_type), 400, "request.bad_multipart")
    # And a well-formed upload without its parts lists each missing one.
    missing = me.client.post(f"/api/v1/{url}", {}, **me._headers({}))
    assert set(assert_error(missing, 422, "request.invalid")["fields"]) == {"kind", "file"}
