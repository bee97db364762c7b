"""Production lane: an idle websocket on a real server stays open and still gets its pushes.

redis-py 6+ gives every connection a 5 s socket timeout by default, while channels-redis waits 5 s in BZPOPMIN for
the next message (channels_redis#422): the read timed out, the consumer died and daphne closed every idle socket
with 1011 after 5-6 s, losing what was pushed meanwhile. The channel layer's connections now wait longer than that
(config/settings.py, CHANNEL_LAYERS)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from core.models import Notification
from core.notifications import notify
from tests.conftest import PRODUCTION_LANE, ROOT, _test_database_url, login_tokens

IDLE_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def daphne_server(transactional_db, tmp_path):
    """`daphne config.asgi:application` on the test database and the same Redis as this process."""
    if not PRODUCTION_LANE:
        pytest.skip("needs the production lane (REDIS_URL): channels-redis between processes")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "DB_CONN_MAX_AGE": "0"}
    log = open(tmp_path / "daphne.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("daphne exited: " + log.read())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not listen within 30 s") from None
                time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.redis
def test_an_idle_websocket_stays_open_30_s_and_then_receives_a_push(parent, daphne_server):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    tokens = login_tokens(parent)
    with connect(f"{daphne_server}/ws/notifications/?access_token={tokens['access']}", open_timeout=10) as ws:
        started = time.monotonic()
        try:
            ws.recv(timeout=IDLE_SECONDS)
        except TimeoutError:
            pass  # idle, as it should be: nothing to say and still open
        except ConnectionClosed as exc:
            pytest.fail(f"the server closed the idle socket after {time.monotonic() - started:.1f} s: {exc}")
        else:
            pytest.fail("a message arrived on an idle socket")
        held = time.monotonic() - started
        assert held >= IDLE_SECONDS - 0.5

        notify(recipients=[parent], kind="complaint.answered", title="您的投诉已答复")  # pushed on commit
        try:
            event = json.loads(ws.recv(timeout=10))
        except ConnectionClosed as exc:
            pytest.fail(f"the socket was closed before the push arrived: {exc}")
    row = Notification.objects.get(recipient=parent)
    assert (event["type"], event["id"]) == ("complaint.answered", row.pk)
    assert event["payload"]["title"] == "您的投诉已答复"
