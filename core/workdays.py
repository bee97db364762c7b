"""The working-day calendar: China's official holidays and swapped working days (调休) from `chinesecalendar`,
corrected by the days the bureau enters (CalendarDay), which win.

For a year the package does not know yet, the calendar falls back to weekends plus the bureau's table and logs a
warning (once per year and process): a deadline is never refused for want of a State Council notice.

Conventions: `add_working_days(d, n)` is the date n working days after d (d itself does not count; n=0 gives d);
`working_days_between(a, b)` counts the working days in (a, b], negative when b is before a.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

from .models import CalendarDay

logger = logging.getLogger(__name__)
_warned_years: set[int] = set()


def _package_says(day: date) -> bool | None:
    """True/False from the official calendar, None when the package has no data for that year."""
    official = _official(day)
    if official is None:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "Working-day calendar: no official data for %s; using weekends plus the bureau's calendar table. "
                "Enter that year's holidays and make-up days in the admin (日历调整).",
                day.year,
            )
    return official


@lru_cache(maxsize=8192)  # the package's data is fixed for the process; a term's pages ask for the same days a lot
def _official(day: date) -> bool | None:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


class WorkingCalendar:
    """Answers with the bureau's table loaded one year at a time (one query per year touched)."""

    def __init__(self):
        self._overrides: dict[date, bool] = {}
        self._loaded_years: set[int] = set()

    def _load(self, year: int) -> None:
        self._loaded_years.add(year)
        for c in CalendarDay.objects.filter(date__year=year):
            self._overrides[c.date] = c.kind == CalendarDay.Kind.WORKDAY

    def is_working_day(self, day: date) -> bool:
        if day.year not in self._loaded_years:
            self._load(day.year)
        if day in self._overrides:
            return self._overrides[day]
        official = _package_says(day)
        if official is not None:
            return official
        return day.weekday() < 5


def is_working_day(day: date) -> bool:
    return WorkingCalendar().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    if n == 0:
        return start
    step = 1 if n > 0 else -1
    calendar = WorkingCalendar()
    day, remaining = start, abs(n)
    while remaining:
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    if a == b:
        return 0
    sign = 1 if b > a else -1
    lo, hi = (a, b) if b > a else (b, a)
    calendar = WorkingCalendar()
    count = 0
    day = lo
    while day < hi:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return sign * count


# --- Provisional years: what the calendar does not know for sure yet ------------------------------------------------


def official_data_for(year: int) -> bool:
    """Whether the official calendar package knows `year` (chinesecalendar stops at the last notice published)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def year_entered(year: int) -> bool:
    """The bureau has entered that year's holidays and make-up days (at least one CalendarDay in it)."""
    return CalendarDay.objects.filter(date__year=year).exists()


def is_provisional(day: date) -> bool:
    """A figure counting working days in `day`'s year is provisional until the year is known: neither the package
    nor the bureau's table has that year's schedule (weekends are assumed meanwhile)."""
    return not official_data_for(day.year) and not year_entered(day.year)


def provisional_years(start: date, end: date) -> list[int]:
    """The years between two dates whose working days are still provisional (one query per unknown year)."""
    return [y for y in range(start.year, end.year + 1) if is_provisional(date(y, 1, 1))]


def calendar_year_enter(*, actor, year: int, entries: list[tuple[date, str, str]]) -> int:
    """Replace the bureau's table for `year` with `entries` ((day, kind, name): kind a CalendarDay.Kind), in one
    transaction with an audit event; returns how many days were saved. Who may do it is the caller's to check (the
    console's calendar page: bureau staff). Refuses a day outside the year, a repeated day or an unknown kind."""
    from django.db import transaction
    from django.utils.translation import gettext_lazy as _

    from .audit import audit_log
    from .errors import DomainError

    if not entries:
        raise DomainError("calendar.empty", _("请至少填写一天"), status=422, fields={"days": _("必填")})
    seen: set[date] = set()
    for day, kind, _name in entries:
        if day.year != year:
            raise DomainError("calendar.wrong_year", _("日期不在该年度内"), status=422, fields={"days": str(day)})
        if kind not in CalendarDay.Kind.values:
            raise DomainError("calendar.bad_kind", _("类型无效"), status=422, fields={"days": str(day)})
        if day in seen:
            raise DomainError("calendar.repeated", _("同一天填写了两次"), status=422, fields={"days": str(day)})
        seen.add(day)
    with transaction.atomic():
        removed = CalendarDay.objects.filter(date__year=year).delete()[0]
        CalendarDay.objects.bulk_create(
            CalendarDay(date=day, kind=kind, name=name[:100]) for day, kind, name in sorted(entries)
        )
        audit_log(
            actor=actor, verb="calendar.year_enter", object_type="calendar_year", object_id=str(year),
            data={"year": year, "days": len(entries), "replaced": removed},
        )  # fmt: skip
    return len(entries)
