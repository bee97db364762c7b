"""Calendar care: the bureau enters a year's holidays and make-up days on a page; until then working days in that
year are provisional, and the bureau is told once when a term is created in such a year."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from core import workdays
from core.models import AuditEvent, CalendarDay, Notification
from tests.conftest import TOWN_A, client_for
from tests.factories import SchoolFactory, TermFactory, region

pytestmark = pytest.mark.django_db


def test_a_year_the_package_does_not_know_is_provisional_until_entered():
    assert workdays.is_provisional(date(2027, 1, 1))
    assert not workdays.is_provisional(date(2026, 5, 1))
    assert workdays.is_working_day(date(2027, 1, 1))  # Friday: a school day until the holiday is entered
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    assert not workdays.is_provisional(date(2027, 6, 1))
    assert not workdays.is_working_day(date(2027, 1, 1))


def test_the_bureau_enters_a_year_on_a_page(bureau_staff):
    c = client_for(bureau_staff)
    page = c.get("/console/calendar/?year=2027")
    assert page.status_code == 200 and 'data-testid="provisional"' in page.content.decode()
    days = "2027-01-01 休 元旦\n2027-02-06 休 春节\n2027-02-14 班 春节调休\n"
    r = c.post("/console/calendar/", {"year": "2027", "days": days})
    assert r.status_code == 302 and r["Location"] == "/console/calendar/?year=2027&saved=3"
    assert CalendarDay.objects.filter(date__year=2027).count() == 3
    assert not workdays.is_working_day(date(2027, 1, 1))
    assert workdays.is_working_day(date(2027, 2, 14))  # a Sunday made a working day
    html = c.get("/console/calendar/?year=2027").content.decode()
    assert "2027-02-14 班 春节调休" in html and 'data-testid="provisional"' not in html
    assert AuditEvent.objects.filter(verb="calendar.year_enter", object_id="2027").exists()
    # Saving again replaces the year's table.
    c.post("/console/calendar/", {"year": "2027", "days": "2027-01-01 休 元旦"})
    assert CalendarDay.objects.filter(date__year=2027).count() == 1


def test_bad_lines_are_listed_with_their_number_and_nothing_is_saved(bureau_staff):
    c = client_for(bureau_staff)
    r = c.post("/console/calendar/", {"year": "2027", "days": "2027-01-01 休 元旦\n2027-13-01 休\n2027-02-01 玩"})
    html = r.content.decode()
    assert r.status_code == 422
    assert "第 2 行" in html and "第 3 行" in html
    assert not CalendarDay.objects.exists()
    r = c.post("/console/calendar/", {"year": "2027", "days": "2028-01-01 休 元旦"})
    assert r.status_code == 422 and "日期不在该年度内" in r.content.decode()
    assert not CalendarDay.objects.exists()


@pytest.mark.parametrize("who", ["parent", "inspector_a", "school_admin_x"])
def test_others_get_404(request, who):
    c = client_for(request.getfixturevalue(who))
    assert c.get("/console/calendar/").status_code == 404
    assert c.post("/console/calendar/", {"year": "2027", "days": "2027-01-01 休"}).status_code == 404
    assert not CalendarDay.objects.exists()


def test_the_bureau_is_told_once_when_a_term_starts_in_a_year_not_entered(
    bureau_staff, bureau_admin, django_capture_on_commit_callbacks
):
    school = SchoolFactory(town=region(TOWN_A))
    with django_capture_on_commit_callbacks(execute=True):
        TermFactory(school=school, name="2026-2027 学年第二学期", starts_on=date(2027, 2, 20), ends_on=date(2027, 7, 5))
        TermFactory(school=school, name="2027 秋", starts_on=date(2027, 9, 1), ends_on=date(2028, 1, 20))
    told = Notification.objects.filter(kind="calendar.year_missing")
    assert set(told.values_list("recipient_id", flat=True)) == {bureau_staff.pk, bureau_admin.pk}
    years = sorted({n.payload["year"] for n in told})
    assert years == [2027, 2028]
    assert told.filter(recipient=bureau_staff, payload__year=2027).count() == 1  # once per year


def test_no_notice_for_a_known_year(bureau_staff):
    TermFactory(school=SchoolFactory(town=region(TOWN_A)), starts_on=date(2026, 3, 1), ends_on=date(2026, 7, 1))
    assert not Notification.objects.filter(kind="calendar.year_missing").exists()


def test_the_calendar_page_says_when_official_data_exists(bureau_staff):
    with time_machine.travel(date(2026, 12, 6), tick=False):
        c = client_for(bureau_staff)
        html = c.get("/console/calendar/?year=2026").content.decode()
    assert 'data-testid="official"' in html
