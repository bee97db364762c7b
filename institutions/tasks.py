import secrets

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import transaction

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="institutions.build_poster", **RETRY)
def build_poster(institution_id: int) -> None:
    """Rebuild the printable poster of an institution (its status or token changed).

    Idempotent: nothing is done when the stored poster already has the live token, the status and the same printed
    facts (name, category, licence number: their fingerprint is part of the file name). The image is stored under a
    random name in MEDIA_ROOT/posters/; the file it replaces is deleted after commit."""
    from .models import Institution, Poster
    from .posters import build_poster_png, poster_fingerprint
    from .verification import live_token

    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None:
        return  # deleted meanwhile: nothing to print
    token = live_token(institution)
    fingerprint = poster_fingerprint(institution, token)
    current = Poster.objects.filter(institution=institution).first()
    # The effective status (an expired licence reads expired the day after, before the nightly watch writes it).
    if current is not None and _up_to_date(current, token.token, institution.current_status, fingerprint):
        return

    png = build_poster_png(institution, token)
    poster = current or Poster(institution=institution)
    storage = Poster._meta.get_field("image").storage
    name = Poster._meta.get_field("image").generate_filename(poster, f"{secrets.token_hex(16)}-{fingerprint}.png")
    stored = storage.save(name, ContentFile(png))

    with transaction.atomic():
        # Drawn from what we read above: if the token or status changed meanwhile, that change scheduled its own
        # rebuild, and this image is already out of date.
        locked = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if locked is None or locked.status != institution.status or live_token(locked).pk != token.pk:
            transaction.on_commit(lambda: storage.delete(stored))
            return
        current = Poster.objects.select_for_update().filter(institution=institution).first()
        old_name = current.image.name if current is not None else None
        poster = current or Poster(institution=institution)
        poster.image.name = stored
        poster.token = token.token
        poster.status = institution.current_status
        poster.save()
        if old_name and old_name != stored:
            transaction.on_commit(lambda: storage.delete(old_name))


def _up_to_date(poster, token: str, status: str, fingerprint: str) -> bool:
    return (
        poster.token == token
        and poster.status == status
        and poster.image.name.endswith(f"-{fingerprint}.png")
        and poster.image.storage.exists(poster.image.name)
    )
