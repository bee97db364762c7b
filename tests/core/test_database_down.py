"""PostgreSQL down: the API and the pages answer 503 `service.unavailable` with Retry-After (not 500), and the next
request after the database is back is served, with nothing restarted."""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from tests.conftest import ApiClient, assert_error, login_tokens

pytestmark = pytest.mark.django_db


@contextmanager
def database_down(error=OperationalError):
    """Every query of this thread's connection fails as it does when the server is gone."""

    def refuse(execute, sql, params, many, context):
        raise error('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_with_retry_after_when_the_database_is_down(parent, error):
    api = ApiClient(login_tokens(parent)["access"])
    with database_down(error):
        response = api.get("notifications")
    body = assert_error(response, 503, "service.unavailable")
    assert response["Retry-After"] == "15"
    assert body["message"] == "服务暂时不可用，请稍后再试"
    assert "5432" not in response.content.decode()

    with database_down(error):
        response = ApiClient(api.token, lang="en").get("notifications")
    assert assert_error(response, 503, "service.unavailable")["message"].startswith("The service is temporarily")

    assert api.get("notifications").status_code == 200  # back: served at once


def test_a_page_answers_a_small_503_page_in_chinese(db):
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.get("/v/some-token")
    assert response.status_code == 503
    assert response["Retry-After"] == "15"
    assert "服务暂时不可用" in response.content.decode()
    with database_down():
        response = client.get("/v/some-token", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503 and "Service temporarily unavailable" in response.content.decode()
    assert client.get("/v/some-token").status_code in {200, 404}


def test_a_signed_in_page_whose_session_cannot_be_loaded_answers_503(parent):
    client = Client(raise_request_exception=False)
    client.force_login(parent)
    with database_down():
        response = client.get("/")
    assert response.status_code == 503, response.content
    assert "服务暂时不可用" in response.content.decode()
    assert client.get("/").status_code in {200, 302}


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real connection refused: production lane")
def test_postgresql_unreachable_then_back_without_a_restart(parent):
    token = login_tokens(parent)["access"]
    api = ApiClient(token)
    web = Client(raise_request_exception=False)
    web.force_login(parent)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_dead_port())
    try:
        down_api, down_page = api.get("notifications"), web.get("/v/some-token")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert_error(down_api, 503, "service.unavailable")
    assert down_api["Retry-After"] == "15"
    assert down_page.status_code == 503 and "服务暂时不可用" in down_page.content.decode()
    assert api.get("notifications").status_code == 200
    assert web.get("/v/some-token").status_code in {200, 404}
