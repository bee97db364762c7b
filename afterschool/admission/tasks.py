"""Thin tasks of admission: a service call, idempotent (a rerun suspends, expires or reminds nobody twice)."""

from celery import shared_task

from . import services


@shared_task(name="afterschool.recheck_admitted", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recheck_admitted() -> dict:
    """After a register import: every admitted person against the register; a hit is suspended at once."""
    return services.admitted_recheck(actor=None)


@shared_task(name="afterschool.admission_daily")
def admission_daily() -> dict:
    """Once a day: expire lapsed admissions, remind 30 and 7 days ahead (deduplicated, so a rerun sends nothing)."""
    return {"expired": services.admissions_expire(), "reminders": services.admission_reminders()}
