"""The document states the answers every operation can give (mobile_api/api.py adds them in one place), and the API
gives them: 400 for a NUL character, 422 for a non-numeric id in a path, 401 where a token is needed, 503 when the
database is down (tests/core hold the 503 itself)."""

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def operations(client):
    for path, item in client.get("/api/v1/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_every_operation_documents_the_common_answers(client):
    for method, path, operation in operations(client):
        answers = operation["responses"]
        for status in ("400", "503"):
            assert answers.get(status, {}).get("content") == ERROR, (method, path, status)
        if "{" in path:
            assert answers.get("422", {}).get("content") == ERROR, (method, path)
        if operation.get("security"):
            assert answers.get("401", {}).get("content") == ERROR, (method, path)


def test_the_public_whitelist_is_documented_as_public(client):
    listing = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/institutions"]["get"]
    assert "security" not in listing
    assert "401" in listing["responses"]  # a token that is sent must be valid


def test_a_non_numeric_id_in_a_path_is_a_documented_422(api_as, bureau_staff):
    error = assert_error(api_as(bureau_staff).get("institutions/abc"), 422, "request.invalid")
    assert "institution_id" in error["fields"]
