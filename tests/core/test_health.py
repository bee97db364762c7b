import socket
import time

import pytest
from channels.layers import channel_layers

from config.celery import app
from core import views
from tests.factories import TaskOutboxFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_cache_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok", "broker": "ok"}
    assert response.json()["outbox"] == 0


def test_readyz_names_the_failing_part(client, monkeypatch):
    def broken():
        raise ConnectionError("redis down")

    monkeypatch.setitem(views.READINESS_CHECKS, "broker", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert "redis down" not in response.content.decode()


def test_readyz_reports_an_unreachable_broker(client, settings):
    from config.celery import app

    app.conf.task_always_eager = False
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def _dead_redis() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"  # closed again: nothing listens there


@pytest.fixture
def dead_parts(settings):
    """dead_parts("cache", "channel_layer", "broker"): those point at a Redis port where nothing listens."""
    saved_broker, caches, layers = app.conf.broker_url, settings.CACHES, settings.CHANNEL_LAYERS

    def kill(*parts):
        dead = _dead_redis()
        if "cache" in parts:
            settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": dead}}
        if "channel_layer" in parts:
            settings.CHANNEL_LAYERS = {
                "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}
            }
        if "broker" in parts:
            app.conf.broker_url = dead  # eager mode stays on, as in the embedded default and these tests

    yield kill
    app.conf.broker_url = saved_broker
    settings.CACHES, settings.CHANNEL_LAYERS = caches, layers
    channel_layers.backends.clear()


@pytest.mark.parametrize(
    "parts",
    [("broker",), ("cache",), ("channel_layer",), ("cache", "channel_layer", "broker")],
    ids=["broker", "cache", "channel-layer", "all-of-redis"],
)
def test_readyz_connects_to_each_redis_part_and_names_the_dead_ones(client, dead_parts, parts):
    """Once, with tasks eager, /readyz said the broker was fine while Redis was down."""
    dead_parts(*parts)
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["failing"] == list(parts)
    assert body["status"] == "degraded"  # the database answers: filings are stored, their tasks kept
    assert body["checks"]["database"] == "ok"
    assert {name for name, state in body["checks"].items() if state == "failing"} == set(parts)
    assert elapsed < 5, elapsed


def test_readyz_counts_the_task_sends_waiting_in_the_outbox(client):

    TaskOutboxFactory()
    assert client.get("/readyz").json()["outbox"] == 1
