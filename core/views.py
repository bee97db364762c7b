import logging
import sys
import uuid

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


def _check_cache():
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def _check_broker():
    from config.celery import app

    if app.conf.task_always_eager:
        return  # embedded default: tasks run in-process, there is no broker to reach
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
def readyz(request):
    """Ready to serve: the database, the cache and the Celery broker are reachable. 503 names what is not."""
    results, failing = {}, []
    for name, check in READINESS_CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the log has the detail
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "failing"
            failing.append(name)
    if failing:
        return JsonResponse({"status": "unavailable", "checks": results, "failing": failing}, status=503)
    return JsonResponse({"status": "ok", "checks": results})


def bench_bare(request):
    """The yardstick of bench/: the cheapest Django JSON answer, measured in the same run as real endpoints."""
    return JsonResponse({"ok": True})


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
