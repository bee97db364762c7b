"""Redis is a cache and a broker, not the truth: with it down a parent's complaint is still filed (201, the inbox
rows stored); the photo task waits in the durable outbox and is sent, then deleted, once the broker is back."""

from __future__ import annotations

import json
import socket
import time
import uuid
from contextlib import contextmanager

import pytest
from channels.layers import channel_layers
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app
from core.dispatch import outbox_resend
from core.models import Notification, TaskOutbox
from core.tasks import resend_outbox
from supervision.models import Complaint, ComplaintPhoto
from tests.conftest import PRODUCTION_LANE

from .conftest import complaint_body, image_bytes

pytestmark = pytest.mark.django_db


def dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    return f"redis://127.0.0.1:{port}/0"


@contextmanager
def broker_at(url: str, queue: str):
    """Tasks go to the broker at `url` (not run eagerly), on a queue of this test's own."""
    saved = app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager

    def reset_pools():
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager = url, queue, False
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager = saved
        reset_pools()


@pytest.fixture
def queue():
    return f"test-outbox-{uuid.uuid4().hex[:8]}"


def file_with_photo(api, institution):
    photo = SimpleUploadedFile("a.jpg", image_bytes(), "image/jpeg")
    data = {"payload": json.dumps(complaint_body(institution)), "photos": [photo]}
    return api.client.post("/api/v1/complaints", data, **api._headers({}))


def test_a_complaint_is_filed_with_redis_down_and_its_task_sent_from_the_outbox_once_redis_is_back(
    api_as, parent, supervisor, registered, settings, queue, django_capture_on_commit_callbacks
):
    api = api_as(parent)  # signed in before Redis goes
    assert file_with_photo(api, registered).status_code == 201  # warm: the first request of a process pays more
    Complaint.objects.all().delete()
    settings.AUTH_CACHE_SECONDS = settings.AUTH_LOCAL_SECONDS = 0  # see the report: the auth cache's fallback
    settings.COMPLAINT_LIST_CACHE_SECONDS = 10  # its after-commit bump meets the dead cache too
    dead, caches, layers = dead_redis_url(), settings.CACHES, settings.CHANNEL_LAYERS
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": dead, "OPTIONS": {"socket_connect_timeout": 1}}
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": dead, "socket_connect_timeout": 1}]},
        }
    }
    try:
        with broker_at(dead, queue), django_capture_on_commit_callbacks(execute=True):
            started = time.monotonic()
            response = file_with_photo(api, registered)
            elapsed = time.monotonic() - started
    finally:
        settings.CACHES, settings.CHANNEL_LAYERS = caches, layers
        channel_layers.backends.clear()

    assert response.status_code == 201, response.content
    assert elapsed < 2, elapsed  # one refused connect each for cache, layer and broker, no retries
    complaint = Complaint.objects.get()
    photo = ComplaintPhoto.objects.get(complaint=complaint)
    assert Notification.objects.filter(kind="complaint.submitted", object_id=str(complaint.pk)).exists()
    kept = TaskOutbox.objects.get()
    assert (kept.task_name, kept.args, kept.kwargs, kept.attempts) == (
        "supervision.process_complaint_photo",
        [photo.pk],
        {},
        1,
    )
    assert kept.last_error and kept.task_id

    with broker_at(dead, queue):  # still down: kept, one more attempt counted
        assert outbox_resend() == 0
    assert TaskOutbox.objects.get().attempts == 2

    working = settings.CELERY_BROKER_URL if PRODUCTION_LANE else "memory://"
    with broker_at(working, queue):
        assert resend_outbox.apply().get() == 1
        assert not TaskOutbox.objects.exists()
        with app.connection_for_read() as conn:
            waiting = conn.SimpleQueue(queue)
            message = waiting.get(timeout=5)
            assert (message.headers["task"], message.headers["id"]) == (
                "supervision.process_complaint_photo",
                kept.task_id,
            )
            assert json.loads(message.body)[0] == [photo.pk]
            message.ack()
            waiting.queue.delete()
            waiting.close()
