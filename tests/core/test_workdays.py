"""Working days: China's calendar with swapped days (调休), the bureau's own table on top, and no crash on a year
the package does not know."""

import logging
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import CalendarDay
from core.workdays import add_working_days, is_working_day, working_days_between
from tests.factories import CalendarDayFactory

pytestmark = pytest.mark.django_db


def test_official_holidays_and_swapped_working_days():
    assert not is_working_day(date(2026, 10, 1))  # National Day
    assert not is_working_day(date(2026, 2, 17))  # Spring Festival
    assert is_working_day(date(2026, 1, 5))  # an ordinary Monday
    assert not is_working_day(date(2026, 1, 10))  # an ordinary Saturday


def test_a_make_up_saturday_is_a_working_day():
    import chinese_calendar

    swapped = [d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() >= 5]
    assert swapped, "the package lists 2026's make-up days"
    assert all(is_working_day(d) for d in swapped)


def test_add_working_days_skips_the_national_day_week():
    # Wednesday 30 September 2026 + 1 working day lands after the National Day holiday.
    result = add_working_days(date(2026, 9, 30), 1)
    assert result > date(2026, 10, 7)
    assert is_working_day(result)


def test_add_zero_and_negative():
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    assert add_working_days(date(2026, 1, 12), -1) == date(2026, 1, 9)  # Monday - 1 = Friday


def test_working_days_between_counts_the_half_open_span():
    assert working_days_between(date(2026, 1, 5), date(2026, 1, 9)) == 4  # Tue..Fri
    assert working_days_between(date(2026, 1, 9), date(2026, 1, 5)) == -4
    assert working_days_between(date(2026, 1, 5), date(2026, 1, 5)) == 0


def test_the_bureaus_table_wins():
    CalendarDayFactory(date=date(2026, 1, 6))
    CalendarDayFactory(date=date(2026, 1, 10), kind=CalendarDay.Kind.WORKDAY)
    assert not is_working_day(date(2026, 1, 6))
    assert is_working_day(date(2026, 1, 10))
    assert working_days_between(date(2026, 1, 5), date(2026, 1, 10)) == 4  # Tue off, Sat on


def test_an_unknown_year_falls_back_to_weekends_with_a_warning(caplog):
    from core import workdays

    workdays._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING, logger="core.workdays"):
        assert add_working_days(date(2031, 1, 3), 1) == date(2031, 1, 6)  # Friday + 1 = Monday
        assert working_days_between(date(2031, 1, 1), date(2031, 1, 31)) == 22
    assert any("2031" in r.getMessage() for r in caplog.records)


def test_an_unknown_year_uses_the_bureaus_entries():
    CalendarDay.objects.create(date=date(2031, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    assert not is_working_day(date(2031, 1, 1))
    assert add_working_days(date(2030, 12, 31), 1) == date(2031, 1, 2)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)),
    n=st.integers(min_value=0, max_value=60),
)
def test_adding_then_counting_gives_back_n(start, n):
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)
