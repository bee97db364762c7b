"""The web pages' live updates: a browser opens /ws/notifications/ with its session cookie (it cannot send the API's
bearer header), accepted only from a page of this same site; signing out of the page closes the socket."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from core.notifications import notify

pytestmark = pytest.mark.django_db(transaction=True)


def session_of(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def headers(key: str | None, origin: str | None = "http://testserver", host: str = "testserver"):
    out = [(b"host", host.encode())]
    if key:
        out.append((b"cookie", f"sj_language=en; {settings.SESSION_COOKIE_NAME}={key}".encode()))
    if origin:
        out.append((b"origin", origin.encode()))
    return out


async def connect(hdrs):
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=hdrs)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def test_a_page_of_this_site_signs_the_socket_in_with_its_session(parent, other_parent):
    _, key = session_of(parent)

    async def scenario():
        socket, connected = await connect(headers(key))
        assert connected
        await sync_to_async(notify)(recipients=[other_parent], kind="k", title="别人的")
        await sync_to_async(notify)(recipients=[parent], kind="complaint.answered", title="您的投诉已答复")
        event = await socket.receive_json_from(timeout=5)
        assert event["type"] == "complaint.answered" and event["payload"]["title"] == "您的投诉已答复"
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    "origin, host",
    [
        ("https://evil.example", "testserver"),  # another site's page with the visitor's cookie
        (None, "testserver"),  # no Origin: not a browser page, and no token either
        ("http://testserver.evil.example", "testserver"),
        ("null", "testserver"),
    ],
)
def test_the_session_is_refused_from_another_origin(parent, origin, host):
    _, key = session_of(parent)

    async def scenario():
        socket, connected = await connect(headers(key, origin, host))
        assert not connected
        await socket.disconnect()

    async_to_sync(scenario)()


def test_no_session_or_a_signed_out_one_is_refused(parent):
    client, key = session_of(parent)
    client.logout()

    async def scenario():
        for hdrs in (headers(None), headers(key), headers("not-a-session-key")):
            socket, connected = await connect(hdrs)
            assert not connected
            await socket.disconnect()

    async_to_sync(scenario)()


def test_signing_out_of_the_page_closes_its_socket(parent):
    client, key = session_of(parent)

    async def scenario():
        socket, connected = await connect(headers(key))
        assert connected
        response = await sync_to_async(client.post)("/logout/")
        assert response.status_code == 302
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}

    async_to_sync(scenario)()
