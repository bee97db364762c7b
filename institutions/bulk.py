"""Upkeep after many institutions changed at once (an import)."""

from celery import shared_task

from .models import Poster


@shared_task(name="institutions.refresh_institutions", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def refresh_institutions(institution_ids: list[int]) -> int:
    """Risk grades for all of them; posters rebuilt only where one was already printed (a new institution's poster
    is built when it is first asked for). Idempotent: both steps do nothing when nothing changed."""
    from .risk import risk_recompute
    from .tasks import build_poster

    with_posters = set(
        Poster.objects.filter(institution_id__in=institution_ids).values_list("institution_id", flat=True)
    )
    for pk in institution_ids:
        risk_recompute(pk)
        if pk in with_posters:
            build_poster(pk)
    return len(institution_ids)
