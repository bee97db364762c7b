"""Complaint deadlines (R-CMP-1), in working days of the official calendar (core.workdays).

A clock has a phase (accept, answer), a start day, a due day (the last working day on which it is still in time)
and a warning day: the first working day by whose end the share `complaint_sla_warn_share` (80 %) of the time is
used. Example: answer within 15 working days from an acceptance on day 0 → warned on working day 12, due on
working day 15, overdue from the next day. While the bureau waits for the parent, the clock is paused; when the
parent replies, the due and warning days move by the working days the pause lasted.

A complaint that came from a 12345 work order also has the platform's deadline (HotlineOrder.deadline): its due day
is the earlier of the policy's and the platform's (`due_cap`), whichever clock runs, and a resumed clock does not
move past it (the platform does not wait for the caller on our behalf). A platform deadline already past when a clock
starts (a reopening long after the order) does not make the new clock overdue at once: the policy's clock runs.
The desk's filters (due within a working day, overdue) and the parent's page read `sla_due_on`, so they follow.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from core import workdays
from core.cache import ProcessTTLCache
from core.policy import policy_raw
from core.workdays import WorkingCalendar

from .models import HOTLINE_KEY_PREFIX, Complaint, SlaPhase

_POLICY_TTL = 300.0
_policy_cache = ProcessTTLCache(1024)
_MISSING = object()


def policy_value(key: str, on: date | None = None) -> str:
    """core.policy values change rarely: each process keeps them five minutes (filing is a hot path)."""
    on = on or timezone.localdate()
    value = _policy_cache.get((key, on), _MISSING)
    if value is _MISSING:
        value = policy_raw(key, on)
        _policy_cache.put((key, on), value, _POLICY_TTL)
    return value


_calendar = ProcessTTLCache(1)


def calendar() -> WorkingCalendar:
    """One calendar per process for five minutes: the bureau's table is read once per year touched, not per call."""
    found = _calendar.get("calendar")
    if found is None:
        found = WorkingCalendar()
        _calendar.put("calendar", found, _POLICY_TTL)
    return found


def clear_caches() -> None:
    _policy_cache.clear()
    _calendar.clear()


def add_working_days(start: date, n: int) -> date:
    """core.workdays.add_working_days, on the process's calendar."""
    cal, day, step, remaining = calendar(), start, (1 if n > 0 else -1), abs(n)
    while remaining:
        day += timedelta(days=step)
        if cal.is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """core.workdays.working_days_between, on the process's calendar: working days in (a, b], negative if b < a."""
    if a == b:
        return 0
    lo, hi, sign = (a, b, 1) if b > a else (b, a, -1)
    cal, count, day = calendar(), 0, lo
    while day < hi:
        day += timedelta(days=1)
        count += cal.is_working_day(day)
    return sign * count


def accept_working_days(on: date | None = None) -> int:
    return int(Decimal(policy_value("complaint_accept_working_days", on)))


def warn_share(on: date | None = None) -> Decimal:
    return Decimal(policy_value("complaint_sla_warn_share", on))


def reopen_days(on: date | None = None) -> int:
    return int(Decimal(policy_value("complaint_reopen_days", on)))


def auto_close_days(on: date | None = None) -> int:
    return int(Decimal(policy_value("complaint_auto_close_days", on)))


def deadline(start: date, working_days: int, share: Decimal) -> tuple[date, date]:
    """(due day, warning day) of a clock of `working_days` starting on `start` (which does not count)."""
    due = add_working_days(start, working_days)
    warn_after = max(1, math.ceil(share * working_days))
    return due, add_working_days(start, min(warn_after, working_days))


def external_due_on(complaint: Complaint) -> date | None:
    """The last day the 12345 platform gave for the complaint's work order, if it came from one (one query for those
    complaints, none for the others: their idempotency key says so)."""
    if complaint.pk is None or not complaint.idempotency_key.startswith(HOTLINE_KEY_PREFIX):
        return None
    # Through the reverse relation: sla does not import the hotline package (which builds on it).
    deadline_at = Complaint.objects.filter(pk=complaint.pk).values_list("hotline_order__deadline", flat=True).first()
    return timezone.localtime(deadline_at).date() if deadline_at else None


def due_cap(complaint: Complaint, cap: date | None, start: date) -> list[str]:
    """Bring the running clock's due (and warning) day forward to `cap` when that is earlier and not before the
    clock's start; returns the fields changed (not saved)."""
    if cap is None or complaint.sla_due_on is None or cap >= complaint.sla_due_on or cap < start:
        return []
    complaint.sla_due_on = cap
    if complaint.sla_warn_on and complaint.sla_warn_on > cap:
        complaint.sla_warn_on = cap
    return ["sla_due_on", "sla_warn_on"]


def start_clock(complaint: Complaint, phase: str, start: date, working_days: int) -> list[str]:
    """Set the clock on the row (not saved); returns the fields changed."""
    due, warn = deadline(start, working_days, warn_share(start))
    cap = external_due_on(complaint)
    if cap is not None and start <= cap < due:
        due, warn = cap, min(warn, cap)
    complaint.sla_phase = phase
    complaint.sla_started_on = start
    complaint.sla_due_on = due
    complaint.sla_warn_on = warn
    complaint.sla_warned = False
    complaint.sla_escalated = False
    complaint.paused_since = None
    return ["sla_phase", "sla_started_on", "sla_due_on", "sla_warn_on", "sla_warned", "sla_escalated", "paused_since"]


def stop_clock(complaint: Complaint) -> list[str]:
    complaint.sla_phase = SlaPhase.NONE
    complaint.sla_due_on = None
    complaint.sla_warn_on = None
    complaint.paused_since = None
    return ["sla_phase", "sla_due_on", "sla_warn_on", "paused_since"]


def resume_clock(complaint: Complaint, today: date) -> int:
    """Move the due and warning days by the working days the pause lasted; returns that number."""
    if complaint.paused_since is None:
        return 0
    paused_on = timezone.localtime(complaint.paused_since).date()
    shift = max(0, working_days_between(paused_on, today))
    if shift and complaint.sla_due_on:
        complaint.sla_due_on = add_working_days(complaint.sla_due_on, shift)
        if complaint.sla_warn_on:
            complaint.sla_warn_on = add_working_days(complaint.sla_warn_on, shift)
    complaint.paused_since = None
    due_cap(complaint, external_due_on(complaint), paused_on)
    return shift


def working_days_left(complaint: Complaint, today: date | None = None) -> int | None:
    if not complaint.sla_due_on:
        return None
    return working_days_between(today or timezone.localdate(), complaint.sla_due_on)


# --- Provisional deadlines --------------------------------------------------------------------------------------------
# A due day counted across a year whose holidays are not known yet (neither the official package nor the bureau's
# calendar in the console has it: core.workdays.is_provisional) was counted with weekends only: the desk and the
# parent's page show it as provisional until the bureau enters that year.


def _clock_years(complaint: Complaint) -> range:
    if not complaint.sla_due_on:
        return range(0)
    start = complaint.sla_started_on or complaint.sla_due_on
    return range(min(start.year, complaint.sla_due_on.year), complaint.sla_due_on.year + 1)


def mark_provisional(complaints) -> None:
    """Set `due_provisional` on each complaint: whether its due day was counted over a provisional year. One query per
    unknown year among them (none for years the official calendar knows), whatever their number."""
    complaints = list(complaints)
    years = {year for c in complaints for year in _clock_years(c)}
    unknown = {year for year in years if workdays.is_provisional(date(year, 1, 1))}
    for c in complaints:
        c.due_provisional = bool(unknown.intersection(_clock_years(c)))
