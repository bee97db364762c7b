"""Thin tasks: they take ids, call a service, retry with backoff, and may run twice without doing the work twice."""

from celery import shared_task
from django.db import transaction

from .notifications import notify

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
