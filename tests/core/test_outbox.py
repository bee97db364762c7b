"""core.dispatch with the broker down: sends are kept in the outbox table, then resent oldest first and deleted."""

from __future__ import annotations

import socket
import uuid

import pytest

from config.celery import app
from core import dispatch
from core.models import TaskOutbox
from tests.conftest import PRODUCTION_LANE
from tests.factories import TaskOutboxFactory

pytestmark = pytest.mark.django_db


def _dead_redis() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"  # closed again: nothing listens there


@pytest.fixture
def broker():
    """broker(url): tasks go to that broker (not eager) on a queue of this test's own."""
    saved = app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager
    queue = f"test-outbox-{uuid.uuid4().hex[:8]}"

    def point(url: str) -> str:
        app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager = url, queue, False
        app._pool = app.amqp._producer_pool = None
        return queue

    yield point
    app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager = saved
    app._pool = app.amqp._producer_pool = None


def _drain(queue: str) -> list[tuple[str, list]]:
    got = []
    with app.connection_for_read() as conn:
        waiting = conn.SimpleQueue(queue)
        while True:
            try:
                message = waiting.get(timeout=1)
            except waiting.Empty:
                break
            got.append((message.headers["task"], message.payload[0]))
            message.ack()
        waiting.queue.delete()
        waiting.close()
    return got


def test_enqueue_on_commit_keeps_the_send_when_the_broker_is_down_and_resends_in_order(
    broker, django_capture_on_commit_callbacks
):
    broker(_dead_redis())
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            dispatch.enqueue_on_commit("core.notify_users", args=([n], "k", f"title {n}"), kwargs={"body": "b"})
    rows = list(TaskOutbox.objects.all())
    assert [(r.task_name, r.args, r.kwargs, r.attempts) for r in rows] == [
        ("core.notify_users", [[n], "k", f"title {n}"], {"body": "b"}, 1) for n in range(3)
    ]
    assert all("Connection refused" in r.last_error or "111" in r.last_error for r in rows), rows[0].last_error

    queue = broker(_working())
    assert dispatch.outbox_resend() == 3
    assert not TaskOutbox.objects.exists()
    assert _drain(queue) == [("core.notify_users", [[n], "k", f"title {n}"]) for n in range(3)]


def _working() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL if PRODUCTION_LANE else "memory://"


def test_a_row_that_cannot_be_sent_for_another_reason_does_not_hold_the_others(broker, monkeypatch):
    TaskOutboxFactory(args=[[1], "k", "first"])
    TaskOutboxFactory(args=[[2], "k", "second"])
    queue = broker(_working())
    real_send = app.send_task

    def send(name, args=None, **options):
        if args[2] == "first":
            raise ValueError("cannot encode")
        return real_send(name, args=args, **options)

    monkeypatch.setattr(app, "send_task", send)
    assert dispatch.outbox_resend() == 1
    left = TaskOutbox.objects.get()
    assert (left.args[2], left.attempts, left.last_error) == ("first", 1, "ValueError: cannot encode")
    assert _drain(queue) == [("core.notify_users", [[2], "k", "second"])]
