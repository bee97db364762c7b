"""Thin tasks of inspections: a service call, idempotent, retried with backoff, under their registered names."""

from celery import shared_task

from .publication import publish_due
from .rectification import rectification_sweep


@shared_task(
    name="supervision.inspection_daily",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=3,
)
def inspection_daily() -> dict:
    """Rectification warnings and escalations, then publication of finished plans whose day has come."""
    return {**rectification_sweep(), "published": publish_due()}
