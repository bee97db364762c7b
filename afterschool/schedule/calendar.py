"""A term's school days: the working-day calendar of core (official holidays out, make-up days in), corrected by
the school's own TermDay entries (closures, and which weekday's timetable a day follows)."""

from __future__ import annotations

from datetime import date, timedelta

from core.cache import ProcessTTLCache
from core.workdays import WorkingCalendar, is_provisional

from .models import Term, TermDay


def school_days(term: Term, start: date | None = None, end: date | None = None) -> dict[date, int]:
    """{date: weekday whose timetable runs that day} for the term's school days in [start, end].

    A make-up weekend day (调休) runs the timetable of the weekday the school names in a TermDay; the calendar does
    not say which weekday it replaces, so Monday's unless the school says otherwise.
    """
    start = max(start or term.starts_on, term.starts_on)
    end = min(end or term.ends_on, term.ends_on)
    overrides = {d.date: d.follows_weekday for d in term.days.all()} if term.pk else {}
    calendar = WorkingCalendar()
    days: dict[date, int] = {}
    day = start
    while day <= end:
        if day in overrides:
            if overrides[day] is not None:
                days[day] = overrides[day]
        elif calendar.is_working_day(day):
            days[day] = day.weekday() if day.weekday() < 5 else 0
        day += timedelta(days=1)
    return days


def timetable_weekday(term: Term, day: date) -> int | None:
    """The weekday whose sessions run on `day`, or None when there is no school that day."""
    return school_days(term, day, day).get(day)


def next_school_day(term: Term | None, after: date) -> date:
    """The first school day after `after` (in the term when there is one, else the next working day)."""
    if term is not None and after < term.ends_on:
        later = sorted(d for d in school_days(term, after + timedelta(days=1), term.ends_on))
        if later:
            return later[0]
    calendar = WorkingCalendar()
    day = after + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def school_days_on(
    terms: list[Term], days: set[date], calendar: WorkingCalendar | None = None
) -> dict[int, dict[date, int]]:
    """{term id: {date: weekday followed}} for the given dates (one query for the term days, one per year)."""
    overrides: dict[int, dict[date, int | None]] = {}
    for td in TermDay.objects.filter(term__in=terms, date__in=days):
        overrides.setdefault(td.term_id, {})[td.date] = td.follows_weekday
    cal = calendar or WorkingCalendar()
    out: dict[int, dict[date, int]] = {}
    for term in terms:
        mine = out.setdefault(term.pk, {})
        for d in days:
            if not term.starts_on <= d <= term.ends_on:
                continue
            if d in overrides.get(term.pk, {}):
                if overrides[term.pk][d] is not None:
                    mine[d] = overrides[term.pk][d]
            elif cal.is_working_day(d):
                mine[d] = d.weekday() if d.weekday() < 5 else 0
    return out


_calendar = ProcessTTLCache(1)
CALENDAR_SECONDS = 300.0


def process_calendar() -> WorkingCalendar:
    """One working-day calendar per process for five minutes (as complaints' deadlines keep theirs): a page that only
    reads school days (a home's counts) loads the bureau's table once per year touched, not per request."""
    found = _calendar.get("calendar")
    if found is None:
        found = WorkingCalendar()
        _calendar.put("calendar", found, CALENDAR_SECONDS)
    return found


def provisional_years_of(*terms: Term | None) -> list[int]:
    """The years of these terms whose working days are still provisional (core.workdays: neither the official package
    nor the bureau's table knows them): the pages counting school days from them say their figures are "暂定"."""
    years: set[int] = set()
    for term in terms:
        if term is not None:
            years.update(range(term.starts_on.year, term.ends_on.year + 1))
    return [y for y in sorted(years) if is_provisional(date(y, 1, 1))]  # one query per year, however many terms
