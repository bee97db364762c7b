"""A complaint's due day counted across a year whose holidays are not entered yet (core.workdays.is_provisional) is
shown as provisional, with a title saying why, on the desk (queue and page) and on the parent's page; once the bureau
enters that year in the console's calendar, it is not."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import CalendarDay
from supervision.complaints import services, sla
from supervision.models import Complaint
from tests.supervision.test_desk import filed, routed, signed_in  # noqa: F401 - routed is a fixture

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
LATE_DECEMBER = date(2026, 12, 28)  # the days to answer end in 2027, a year the official calendar lacks
MARK = 'data-testid="due-provisional"'


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def accepted(parent, registered, staff_a, routed):  # noqa: F811
    with at(LATE_DECEMBER):
        c = filed(parent, registered)
        return services.complaint_take(actor=staff_a, complaint_id=c.pk)


def test_a_due_day_in_an_unentered_year_is_provisional_everywhere_it_is_shown(accepted, staff_a, parent):
    assert accepted.sla_due_on.year == 2027
    with at(LATE_DECEMBER):
        for client, url in ((signed_in(staff_a), f"/desk/complaints/{accepted.pk}/"), (signed_in(staff_a), "/desk/"),
                            (signed_in(parent), f"/complaints/{accepted.pk}/")):  # fmt: skip
            html = client.get(url).content.decode()
            assert MARK in html, url
            assert "（暂定）" in html and "节假日安排尚未录入" in html  # the title explains why


def test_once_the_year_is_entered_it_is_not(accepted, staff_a, parent):
    CalendarDay.objects.create(date=date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    with at(LATE_DECEMBER):
        assert MARK not in signed_in(staff_a).get(f"/desk/complaints/{accepted.pk}/").content.decode()
        assert MARK not in signed_in(parent).get(f"/complaints/{accepted.pk}/").content.decode()


def test_a_due_day_in_a_known_year_is_not_provisional(parent, registered, staff_a, routed):  # noqa: F811
    with at(date(2026, 11, 16)):
        c = services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)
        assert c.sla_due_on.year == 2026
        html = signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert MARK not in html and c.sla_due_on.strftime("%Y-%m-%d") in html


def test_marking_a_page_costs_one_query_per_unknown_year_whatever_its_size(accepted):
    rows = [Complaint.objects.get(pk=accepted.pk) for _ in range(50)]
    with CaptureQueriesContext(connection) as queries:
        sla.mark_provisional(rows)
    assert all(r.due_provisional for r in rows) and len(queries) == 1
