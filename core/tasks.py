"""Thin tasks: they take ids, call a service, retry with backoff, and may run twice without doing the work twice."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections, transaction

from .dispatch import outbox_resend
from .notifications import notify

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="core.notify_users", **RETRY)
def notify_users(
    user_ids: list[int], kind: str, title: str, body: str = "", payload: dict | None = None, dedupe_key: str = ""
) -> int:
    """Inbox rows and pushes for users, from a worker (e.g. a scheduled reminder). Returns how many were new."""
    with transaction.atomic():
        rows = notify(recipients=user_ids, kind=kind, title=title, body=body, payload=payload, dedupe_key=dedupe_key)
    return len(rows)


@shared_task(name="core.job_sweep")
def job_sweep() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): jobs whose worker died are taken over, or failed after their attempts."""
    from .jobs import job_sweep as sweep

    return sweep()


@shared_task(name="core.outbox_resend")
def resend_outbox() -> int:
    """Sends kept while the broker was down (beat, every minute). Not retried: the next run goes on."""
    return outbox_resend()


@worker_ready.connect
def _resend_outbox_at_start(**kwargs) -> None:
    """A worker that starts (the broker is back) sends what waits in the outbox at once."""
    try:
        sent = outbox_resend()
        if sent:
            logger.info("outbox: %d task(s) sent at worker start", sent)
    except Exception:  # noqa: BLE001 - never stop a worker from starting
        logger.exception("outbox: resend at worker start failed")
    finally:
        close_old_connections()
