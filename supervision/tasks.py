"""Thin tasks: ids in, a service call, idempotent, retried with backoff."""

from celery import shared_task


@shared_task(
    name="supervision.process_complaint_photo",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def process_complaint_photo(photo_id: int) -> str:
    from .services import photo_process

    return photo_process(photo_id)


@shared_task(
    name="supervision.complaint_sweep",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=3,
)
def complaint_sweep() -> dict:
    from .services import complaint_sweep as sweep

    return sweep()


@shared_task(
    name="supervision.inspection_daily",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=3,
)
def inspection_daily() -> dict:
    """Rectification warnings and escalations, then publication of finished plans whose day has come."""
    from .publication import publish_due
    from .rectification import rectification_sweep

    return {**rectification_sweep(), "published": publish_due()}
