"""/ws/notifications/: the bearer token opens it, the user's new inbox rows arrive as {type, id, at, payload}, and
signing out closes it. Runs on the in-memory layer and, in the production lane, on channels-redis, where a push can
come from a Celery task in a worker process."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services import auth_logout, auth_revoke_user_sessions
from config.asgi import application
from core.models import Notification
from core.notifications import notify
from tests.conftest import login_tokens

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro_fn, *args):
    return async_to_sync(coro_fn)(*args)


async def connect(path="/ws/notifications/", headers=None):
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def test_no_token_is_refused():
    async def scenario():
        communicator, connected = await connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_bad_token_is_refused(parent):
    async def scenario():
        communicator, connected = await connect(headers=[(b"authorization", b"Bearer sja_bogus")])
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_revoked_token_is_refused(parent, bureau_admin):
    tokens = login_tokens(parent)
    auth_revoke_user_sessions(actor=bureau_admin, user=parent)

    async def scenario():
        communicator, connected = await connect(f"/ws/notifications/?access_token={tokens['access']}")
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_notification_arrives_on_the_recipients_socket_only(parent, other_parent):
    mine, theirs = login_tokens(parent), login_tokens(other_parent)

    async def scenario():
        me, ok1 = await connect(headers=[(b"authorization", f"Bearer {mine['access']}".encode())])
        them, ok2 = await connect(f"/ws/notifications/?access_token={theirs['access']}")
        assert ok1 and ok2
        await sync_to_async(notify)(recipients=[parent], kind="complaint.answered", title="您的投诉已答复")
        event = await me.receive_json_from(timeout=5)
        row = await sync_to_async(Notification.objects.get)(recipient=parent)
        assert event["type"] == "complaint.answered"
        assert event["id"] == row.pk
        assert event["payload"]["title"] == "您的投诉已答复"
        assert event["at"].endswith("+08:00")
        assert await them.receive_nothing(timeout=0.3)
        await me.disconnect()
        await them.disconnect()

    run(scenario)


def test_ping_pong(parent):
    tokens = login_tokens(parent)

    async def scenario():
        communicator, connected = await connect(f"/ws/notifications/?access_token={tokens['access']}")
        assert connected
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    run(scenario)


def test_signing_out_closes_the_socket_of_that_device(parent):
    tokens = login_tokens(parent)

    async def scenario():
        communicator, connected = await connect(f"/ws/notifications/?access_token={tokens['access']}")
        assert connected
        await sync_to_async(auth_logout)(actor=parent, session=tokens["session"])
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    run(scenario)


@pytest.mark.worker
def test_a_push_from_a_task_in_a_worker_process_reaches_the_socket(parent, real_worker):
    """Only a cross-process layer (Redis) can carry this; the in-memory layer cannot, so this runs in the
    production lane with a real `celery worker` process."""
    from core.tasks import notify_users

    tokens = login_tokens(parent)

    async def scenario():
        communicator, connected = await connect(f"/ws/notifications/?access_token={tokens['access']}")
        assert connected
        await sync_to_async(notify_users.apply_async)(
            args=[[parent.pk], "licence.expiring", "许可证即将到期"],
            kwargs={"dedupe_key": "test-worker"},
            queue=real_worker,
        )
        event = await communicator.receive_json_from(timeout=30)
        assert event["type"] == "licence.expiring"
        assert event["payload"]["title"] == "许可证即将到期"
        await communicator.disconnect()

    run(scenario)
    assert Notification.objects.filter(recipient=parent, kind="licence.expiring").count() == 1


def test_with_redis_down_the_handshake_is_refused_cleanly(parent, settings, caplog):
    """The channel layer unreachable: the socket is refused with 1013 (try again later), not a 500 and a traceback;
    the phone falls back to its inbox. Redis is pointed at a port where nothing listens (the shared one stays up)."""
    from django.test import override_settings

    tokens = login_tokens(parent)
    dead = "redis://127.0.0.1:6390/0"
    with override_settings(
        REDIS_URL=dead,
        CACHES={"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": dead}},
        CHANNEL_LAYERS={"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}},
        AUTH_CACHE_SECONDS=120,
        AUTH_LOCAL_SECONDS=0,
    ):

        async def scenario():
            communicator = WebsocketCommunicator(
                application, f"/ws/notifications/?access_token={tokens['access']}"
            )
            connected, code = await communicator.connect(timeout=5)
            await communicator.wait(timeout=5)  # the application ends on its own, without raising
            return connected, code

        connected, code = run(scenario)
    assert (connected, code) == (False, 1013)
    assert not [r for r in caplog.records if r.exc_info and r.levelname in ("ERROR", "CRITICAL")]
