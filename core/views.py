import asyncio
import logging
import sys
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .http import is_database_down, json_error, service_unavailable

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    """The process is alive and answers; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


CHECK_TIMEOUT = 1.0  # seconds: a probe answers fast, whatever is down


def _check_cache():
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def _check_channel_layer():
    """Actually reach the layer: each Redis host of channels-redis answers PING; another layer passes a message to
    itself."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    hosts = getattr(layer, "hosts", None)
    if hosts is not None:
        import redis

        for host in hosts:
            host = {**host, "socket_connect_timeout": CHECK_TIMEOUT, "socket_timeout": CHECK_TIMEOUT}
            address = host.pop("address", None)
            client = redis.Redis.from_url(address, **host) if address else redis.Redis(**host)
            try:
                client.ping()
            finally:
                client.close()
        return

    async def round_trip():
        channel = await layer.new_channel("readyz.")
        await layer.send(channel, {"type": "readyz.ping"})
        await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT)

    async_to_sync(round_trip)()


def _check_broker():
    """Connect to the broker for real (in tests and the embedded default, eager mode once hid a broker that was
    down); only the in-process memory transport has nothing to reach."""
    from celery import current_app as app  # the project's app (config.celery), which core may not import

    if app.conf.broker_url.startswith("memory://"):
        return
    options = {**(app.conf.broker_transport_options or {}), "socket_connect_timeout": CHECK_TIMEOUT}
    with app.connection_for_write(connect_timeout=CHECK_TIMEOUT, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT)


def _outbox_pending() -> int:
    from .models import TaskOutbox

    return TaskOutbox.objects.count()


READINESS_CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
    "broker": _check_broker,
}


@never_cache
def readyz(request):
    """Ready to serve: the database, the cache, the channel layer and the Celery broker are each reached for real.
    503 names what is not: "unavailable" without the database, "degraded" when only Redis parts fail (filings are
    still stored, their tasks kept in the outbox). `outbox` counts the task sends waiting for the broker."""
    results, failing = {}, []
    for name, check in READINESS_CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the log has the detail
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "failing"
            failing.append(name)
    body = {"status": "ok", "checks": results}
    if "database" not in failing:
        try:
            body["outbox"] = _outbox_pending()
        except Exception as exc:  # noqa: BLE001 - the table is missing (not migrated): said by the database check
            logger.warning("readiness: outbox not counted: %s", exc)
    if failing:
        body.update(status="unavailable" if "database" in failing else "degraded", failing=failing)
        return JsonResponse(body, status=503)
    return JsonResponse(body)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(request, 404)
    return render(request, "404.html", status=404)


def handler500(request):
    if is_database_down(sys.exc_info()[1]):  # raised before any view (a middleware loading the session or user)
        return service_unavailable(request)
    if request.path.startswith("/api/"):
        return json_error(request, 500)
    return render(request, "500.html", status=500)
