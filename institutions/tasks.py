from celery import shared_task

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="institutions.build_poster", **RETRY)
def build_poster(institution_id: int) -> None:
    """Rebuild the printable poster of an institution (its status or token changed)."""
