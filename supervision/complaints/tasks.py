"""Thin tasks of complaints: ids in, a service call, idempotent, retried with backoff. The registered names are
what queued messages and the beat schedule carry: they never change when the code moves."""

from celery import shared_task

from .services import complaint_outcome_sms as outcome_sms
from .services import complaint_sweep as sweep
from .services import photo_process


@shared_task(
    name="supervision.process_complaint_photo",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def process_complaint_photo(photo_id: int) -> str:
    return photo_process(photo_id)


@shared_task(
    name="supervision.complaint_sweep",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=3,
)
def complaint_sweep() -> dict:
    return sweep()


@shared_task(
    name="supervision.complaint_outcome_sms",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def complaint_outcome_sms(complaint_id: int) -> str:
    return outcome_sms(complaint_id)
