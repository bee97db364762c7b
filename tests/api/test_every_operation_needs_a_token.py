"""Walks the OpenAPI document: every operation that declares bearer auth refuses a caller without a valid token, so
an endpoint added later cannot forget it. Operations without auth are listed here on purpose."""

import re

import pytest

from tests.conftest import ApiClient, assert_error

pytestmark = pytest.mark.django_db

PUBLIC = {
    ("post", "/api/v1/auth/sms-code"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/password-reset"),  # proven by the SMS code
    ("post", "/api/v1/auth/invitations/accept"),  # proven by the one-time link
    ("get", "/api/v1/verify/{token}"),
    ("get", "/api/v1/afterschool/admitted-third-parties"),
    ("get", "/api/v1/inspection-results"),  # 一公开: published inspection results
}
# Public (documented without a security requirement), but a token that is sent must be valid (the answer depends
# on who asks).
OPTIONAL_AUTH = {("get", "/api/v1/institutions")}


def operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_operation_is_either_public_on_purpose_or_needs_a_token(client):
    for method, path, operation in operations(client):
        if (method, path) in PUBLIC | OPTIONAL_AUTH:
            assert not operation.get("security"), f"{method} {path} should be public"
        else:
            assert operation.get("security"), f"{method} {path} has no auth"


@pytest.mark.parametrize("token", [None, "sja_forged", "not-even-a-prefix"])
def test_operations_with_auth_refuse_callers_without_a_valid_token(client, token):
    anon = ApiClient(token)
    checked = 0
    for method, path, operation in operations(client):
        if (method, path) in OPTIONAL_AUTH:
            if token:  # a bad token is refused even where no token is needed
                assert_error(anon.get(concrete(path)), 401)
            continue
        if not operation.get("security"):
            continue
        if method == "get":
            response = anon.get(concrete(path))
        else:
            response = anon.raw(method, concrete(path), b"{}")
        assert_error(response, 401)
        checked += 1
    assert checked >= 6
