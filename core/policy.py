"""Dated policy values (POLICY.md): the value in force on a date, so an old record is judged by the rule of its day."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from django.utils import timezone

from .models import PolicyValue


class MissingPolicyValue(LookupError):
    pass


def policy_raw(key: str, on: date | None = None) -> str:
    on = on or timezone.localdate()
    row = PolicyValue.objects.filter(key=key, effective_from__lte=on).order_by("-effective_from").first()
    if row is None:
        raise MissingPolicyValue(f"No policy value {key!r} in force on {on}")
    return row.value


def policy_decimal(key: str, on: date | None = None) -> Decimal:
    return Decimal(policy_raw(key, on))


def policy_int(key: str, on: date | None = None) -> int:
    return int(Decimal(policy_raw(key, on)))


def policy_time(key: str, on: date | None = None) -> time:
    hours, minutes = policy_raw(key, on).split(":")
    return time(int(hours), int(minutes))
