"""Every API error has one JSON shape, a stable code, and a message in Chinese (default) or English."""

import pytest
from django.test import override_settings

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_missing_token_is_401_in_the_common_shape(anon):
    response = anon.get("me")
    error = assert_error(response, 401, "auth.required")
    assert error["message"] == "请先登录"
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401(anon):
    anon.token = "sja_not-a-real-token"
    assert_error(anon.get("me"), 401, "auth.invalid_token")


def test_english_when_asked(anon):
    anon.lang = "en-US,en;q=0.9,zh;q=0.5"
    error = assert_error(anon.get("me"), 401, "auth.required")
    assert error["message"] == "Authentication required"


def test_chinese_when_preferred_over_english(anon):
    anon.lang = "zh-CN,zh;q=0.9,en;q=0.8"
    assert assert_error(anon.get("me"), 401)["message"] == "请先登录"


def test_unknown_path_under_api_is_404_json(anon):
    assert_error(anon.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(anon.get("/api/elsewhere"), 404, "not_found")


def test_unknown_page_outside_api_stays_html(anon):
    response = anon.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_405_json(anon):
    response = anon.raw("delete", "auth/login")
    assert_error(response, 405, "request.method_not_allowed")
    assert "POST" in response["Allow"]


def test_malformed_json_is_400(anon):
    response = anon.raw("post", "auth/login", b'{"login": "a", "password": ')
    assert_error(response, 400, "request.malformed_json")


def test_wrong_content_type_is_415(anon):
    response = anon.raw("post", "auth/login", b"login=a&password=b", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "request.unsupported_media_type")
    response = anon.raw("post", "auth/login", b"hello", content_type="text/plain")
    assert_error(response, 415)


@override_settings(API_MAX_JSON_BYTES=1024)
def test_oversized_body_is_413(anon):
    response = anon.post("auth/login", {"login": "x" * 2000, "password": "y"})
    assert_error(response, 413, "request.too_large")


def test_validation_errors_list_each_field(anon):
    response = anon.post("auth/login", {"login": 12, "device": "x" * 500})
    error = assert_error(response, 422, "request.invalid")
    assert set(error["fields"]) == {"login", "password", "device"}
    assert error["fields"]["password"] == "必填"


def test_validation_errors_in_english(anon):
    anon.lang = "en"
    error = assert_error(anon.post("auth/login", {}), 422, "request.invalid")
    assert error["message"] == "Invalid input"
    assert error["fields"]["login"] == "Field required"


def test_unknown_enum_value_is_422_naming_the_choices(anon):
    error = assert_error(anon.post("auth/sms-code", {"phone": "13800138000", "purpose": "steal"}), 422)
    assert "purpose" in error["fields"]
    assert "register" in error["fields"]["purpose"]


def test_wrong_query_type_is_422(api_as, parent):
    error = assert_error(api_as(parent).get("notifications", {"page": "first"}), 422)
    assert "page" in error["fields"]
    error = assert_error(api_as(parent).get("notifications", {"page_size": 1000}), 422)
    assert "page_size" in error["fields"]


def test_unexpected_exception_is_500_without_a_trace(anon, monkeypatch):
    from accounts import services

    def boom(**kwargs):
        raise RuntimeError("SELECT secret FROM inside")

    monkeypatch.setattr(services, "auth_login", boom)
    anon.client.raise_request_exception = False
    response = anon.post("auth/login", {"login": "a", "password": "b"})
    error = assert_error(response, 500, "server.error")
    assert "SELECT" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["fields"] == {}


def test_a_nul_character_is_refused_cleanly(anon):
    assert_error(anon.post("auth/login", {"login": "a\u0000b", "password": "x"}), 400, "request.nul_character")
    assert_error(anon.get("institutions", {"q": "a\u0000"}), 400, "request.nul_character")
    assert anon.post("auth/login", {"login": "a\\u0000b", "password": "x"}).status_code == 401  # the text, not a NUL
