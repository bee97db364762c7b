"""Thin tasks of the 12345 outbox: an event id in, one delivery attempt, retried with exponential backoff."""

from celery import shared_task

from .services import event_deliver, outbox_sweep


@shared_task(name="supervision.hotline_deliver", bind=True, max_retries=None, acks_late=True)
def hotline_deliver(self, event_pk: int) -> str:
    """The service counts the attempts and decides when to give up (the event is then `failed`, for the bureau)."""
    result, delay = event_deliver(event_pk)
    if self.request.is_eager:  # no worker to wait for a countdown (the embedded default): the attempts follow at once
        while result == "retry":
            result, delay = event_deliver(event_pk)
    elif result == "retry":
        raise self.retry(countdown=delay)
    return result


@shared_task(name="supervision.hotline_outbox_sweep")
def hotline_outbox_sweep() -> int:
    return outbox_sweep()
