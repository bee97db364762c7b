"""Dated policy values (POLICY.md): the value in force on a date, so an old record is judged by the rule of its day."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .cache import ProcessTTLCache
from .models import PolicyValue


class MissingPolicyValue(LookupError):
    pass


# The table is a few dozen rows read on every check (a timetable's inline check asks three): it is kept whole in
# the process for a minute, dropped at once here when a row is saved or deleted. Other processes see a new row within
# POLICY_SECONDS; rows are dated and normally entered ahead of the day they take effect.
_table = ProcessTTLCache(1)
POLICY_SECONDS = 60.0


def _values_by_key() -> dict[str, list[tuple[date, str]]]:
    """{key: [(effective_from, value), ...] newest first}."""
    found = _table.get("all")
    if found is None:
        found = {}
        rows = PolicyValue.objects.order_by("key", "-effective_from").values_list("key", "effective_from", "value")
        for key, effective_from, value in rows:
            found.setdefault(key, []).append((effective_from, value))
        _table.put("all", found, POLICY_SECONDS)
    return found


@receiver([post_save, post_delete], sender=PolicyValue, dispatch_uid="core.policy.forget")
def _forget(**_kwargs) -> None:
    _table.clear()


def policy_raw(key: str, on: date | None = None) -> str:
    on = on or timezone.localdate()
    for effective_from, value in _values_by_key().get(key, ()):
        if effective_from <= on:
            return value
    raise MissingPolicyValue(f"No policy value {key!r} in force on {on}")


def policy_decimal(key: str, on: date | None = None) -> Decimal:
    return Decimal(policy_raw(key, on))


def policy_int(key: str, on: date | None = None) -> int:
    return int(Decimal(policy_raw(key, on)))


def policy_time(key: str, on: date | None = None) -> time:
    hours, minutes = policy_raw(key, on).split(":")
    return time(int(hours), int(minutes))
