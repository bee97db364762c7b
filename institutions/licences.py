"""Licence expiry: licensed institutions whose licence has passed its date are marked expired; their staff and the
bureau are told 30 days before."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.notifications import notify

from .models import Institution, Status
from .selectors import EDITOR_ROLES

REMINDER_DAYS = 30
WATCHED = (Status.LICENSED, Status.RECTIFYING, Status.SUSPENDED)


def expire_licences(today=None) -> list[int]:
    from .services import institution_change_status

    today = today or timezone.localdate()
    expired = []
    for pk, expires_on in Institution.objects.filter(status=Status.LICENSED, licence_expires_on__lt=today).values_list(
        "pk", "licence_expires_on"
    ):
        institution_change_status(
            actor=None, institution_id=pk, to_status=Status.EXPIRED, reason=f"办学许可证已于 {expires_on} 到期"
        )
        expired.append(pk)
    return expired


def remind_expiring(today=None) -> int:
    today = today or timezone.localdate()
    sent = 0
    soon = Institution.objects.filter(
        status__in=WATCHED, licence_expires_on__gte=today, licence_expires_on__lte=today + timedelta(days=REMINDER_DAYS)
    )
    for inst in soon:
        with transaction.atomic():
            # One reminder per licence: the key carries the expiry date, so a renewed licence is reminded again.
            rows = notify(
                recipients=scope.users_of_institution(inst.pk) + scope.users_covering_town(inst.town_id, *EDITOR_ROLES),
                kind="institution.licence_expiring",
                title=format_lazy(
                    _("{name} 的办学许可证将于 {expires_on} 到期"), name=inst.name, expires_on=inst.licence_expires_on
                ),
                body=_("请及时办理延续手续。"),
                obj=inst,
                payload={"expires_on": inst.licence_expires_on.isoformat()},
                dedupe_key=f"licence-expiring:{inst.pk}:{inst.licence_expires_on.isoformat()}",
            )
        sent += len(rows)
    return sent


@shared_task(name="institutions.licence_watch", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def licence_watch() -> dict:
    """Daily (beat): idempotent, so a retry or a second run the same day does nothing twice."""
    return {"expired": expire_licences(), "reminded": remind_expiring()}
