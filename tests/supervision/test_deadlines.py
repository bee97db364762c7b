"""Deadlines in working days (R-CMP-1) across the National Day week 2026 (1-7 October off, Saturday 10 October a
make-up working day), the 80 % warning, escalation when overdue, and the pause while waiting for the parent."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from core.models import AuditEvent, Notification
from core.workdays import add_working_days as core_add_working_days
from supervision.complaints import sla
from supervision.complaints.services import complaint_sweep
from supervision.models import Complaint
from tests.factories import RoutingRuleFactory

from .conftest import file

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False)


def act(api, cid, action, **fields):
    response = api.post(f"complaints/{cid}/actions", {"action": action, **fields})
    assert response.status_code == 200, response.content
    return response.json()


def test_deadline_arithmetic_across_national_day_2026():
    share = sla.warn_share(date(2026, 9, 30))
    # Accept within 1 working day of Wednesday 30 September: Thursday 8 October, after the holiday week.
    assert sla.deadline(date(2026, 9, 30), 1, share) == (date(2026, 10, 8), date(2026, 10, 8))
    # Answer within 3 from 30 September: 8, 9 and the make-up Saturday 10 October.
    assert sla.deadline(date(2026, 9, 30), 3, share) == (date(2026, 10, 10), date(2026, 10, 10))
    # Within 7 from 8 October: 9, 10 (Sat), 12, 13, 14, 15, 16; warned on the 6th working day (80 % of 7 = 5.6).
    assert sla.deadline(date(2026, 10, 8), 7, share) == (date(2026, 10, 16), date(2026, 10, 15))
    # Within 15 from 29 September: 30 September, then 8, 9, 10 (Sat), 12-16, 19-23, 26 October; warned on the
    # 12th working day (21 October), due on the 15th (26 October).
    assert sla.deadline(date(2026, 9, 29), 15, share) == (date(2026, 10, 26), date(2026, 10, 21))


@given(start=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 20)), days=st.integers(1, 20))
def test_warning_comes_before_or_on_the_due_day_and_both_are_working_days(start, days):
    due, warn = sla.deadline(start, days, sla.Decimal("0.80"))
    assert start < warn <= due
    assert due == core_add_working_days(start, days)  # the same calendar as core.workdays
    assert sla.calendar().is_working_day(due) and sla.calendar().is_working_day(warn)


def test_filed_before_national_day_warned_and_escalated_on_the_right_days(
    api_as, parent, registered, staff_a, supervisor
):
    RoutingRuleFactory(town=registered.town, handler=staff_a)
    with at(date(2026, 9, 30)):
        cid = file(api_as(parent), registered, category="safety", occurred_at="2026-09-29T18:00:00+08:00").json()["id"]
    c = Complaint.objects.get(pk=cid)
    assert (c.sla_phase, c.sla_due_on, c.sla_warn_on) == ("accept", date(2026, 10, 8), date(2026, 10, 8))

    for holiday in (date(2026, 10, 1), date(2026, 10, 7)):
        with at(holiday):
            assert complaint_sweep() == {"warned": 0, "escalated": 0, "closed": 0, "statements_reminded": 0}
    with at(date(2026, 10, 8)):
        assert complaint_sweep()["warned"] == 1  # the due day of a one-day clock
        assert complaint_sweep()["warned"] == 0
    assert Notification.objects.filter(recipient=staff_a, kind="complaint.sla_warning").count() == 1
    with at(date(2026, 10, 9)):
        assert complaint_sweep()["escalated"] == 1
        assert complaint_sweep()["escalated"] == 0
    event = AuditEvent.objects.get(verb="complaint.escalate", object_id=str(cid))
    assert event.actor is None and event.data["phase"] == "accept" and event.data["due_on"] == "2026-10-08"
    assert Notification.objects.filter(recipient=supervisor, kind="complaint.escalated").count() == 1
    assert Notification.objects.filter(recipient=staff_a, kind="complaint.escalated").count() == 1

    # Accepted late on Friday 9 October: safety is answered within 3 working days: 10 (make-up Saturday), 12, 13.
    with at(date(2026, 10, 9), hour=15):
        body = act(api_as(staff_a), cid, "accept")
    assert body["sla_phase"] == "answer" and body["due_on"] == "2026-10-13"
    c.refresh_from_db()
    assert not c.sla_escalated and not c.sla_warned  # a new clock: warned and escalated afresh
    with at(date(2026, 10, 11)):  # Sunday
        assert complaint_sweep() == {"warned": 0, "escalated": 0, "closed": 0, "statements_reminded": 0}
    with at(date(2026, 10, 13)):
        assert complaint_sweep()["warned"] == 1
    with at(date(2026, 10, 14)):
        assert complaint_sweep()["escalated"] == 1
    assert AuditEvent.objects.filter(verb="complaint.escalate", object_id=str(cid)).count() == 2
    assert api_as(supervisor).get("complaints", {"overdue": "true"}).json()["count"] == 1


def test_waiting_for_the_parent_pauses_the_clock(api_as, parent, registered, staff_a):
    with at(date(2026, 10, 8)):
        cid = file(api_as(parent), registered, category="refund", occurred_at="2026-10-06T10:00:00+08:00").json()["id"]
        due = act(api_as(staff_a), cid, "accept")["due_on"]
    assert due == "2026-10-16"
    with at(date(2026, 10, 9)):
        api_as(staff_a).post(f"complaints/{cid}/messages", {"body": "请补充合同照片。", "awaiting_parent": True})
    with at(date(2026, 10, 20)):  # long past the due day, but paused: not overdue, not escalated
        assert complaint_sweep() == {"warned": 0, "escalated": 0, "closed": 0, "statements_reminded": 0}
        assert api_as(staff_a).get(f"complaints/{cid}").json()["overdue"] is False
    # The parent answers on Monday 12 October: the pause lasted 2 working days (Saturday 10 and Monday 12).
    with at(date(2026, 10, 12)):
        api_as(parent).post(f"complaints/{cid}/messages", {"body": "合同照片如下说明。"})
        body = api_as(parent).get(f"complaints/{cid}").json()
    assert body["paused"] is False and body["due_on"] == "2026-10-20"
    event = AuditEvent.objects.get(verb="complaint.resume", object_id=str(cid))
    assert event.data["shifted_working_days"] == 2


def test_a_year_the_calendar_package_does_not_know_does_not_crash(api_as, parent, registered, staff_a):
    with at(date(2031, 3, 3)):
        cid = file(api_as(parent), registered, occurred_at="2031-03-01T10:00:00+08:00").json()["id"]
        assert Complaint.objects.get(pk=cid).sla_due_on == date(2031, 3, 4)


def test_an_institution_late_with_its_statement_is_reminded_and_the_handler_told(
    api_as, parent, registered, staff_a, inst_staff
):
    RoutingRuleFactory(town=registered.town, handler=staff_a)
    h = api_as(staff_a)
    with at(date(2026, 9, 29)):
        cid = file(api_as(parent), registered, occurred_at="2026-09-28T18:00:00+08:00").json()["id"]
        act(h, cid, "accept")
        response = h.post(
            f"complaints/{cid}/statement-requests", {"question": "请说明退费情况。", "due_working_days": 2}
        )
        assert response.status_code == 201, response.content
    # 2 working days from Tuesday 29 September: the 30th, then Thursday 8 October after the holiday week.
    assert response.json()["due_on"] == "2026-10-08"
    with at(date(2026, 10, 7)):
        assert complaint_sweep()["statements_reminded"] == 0
    with at(date(2026, 10, 8)):
        assert complaint_sweep()["statements_reminded"] == 1
        assert complaint_sweep()["statements_reminded"] == 0
    assert Notification.objects.filter(recipient=inst_staff, kind="statement.due").count() == 1
    assert not Notification.objects.filter(recipient=staff_a, kind="statement.overdue").exists()
    with at(date(2026, 10, 9)):
        assert complaint_sweep()["statements_reminded"] == 1
        assert complaint_sweep()["statements_reminded"] == 0
    assert Notification.objects.filter(recipient=inst_staff, kind="statement.overdue").count() == 1
    told = Notification.objects.get(recipient=staff_a, kind="statement.overdue")
    assert str(cid) in told.body and "2026-10-08" in told.body
    event = AuditEvent.objects.get(verb="statement.overdue")
    assert event.actor is None and event.data == {"complaint_id": cid, "due_on": "2026-10-08"}

    # Once answered, nothing more.
    answered = api_as(inst_staff).post(
        f"statement-requests/{response.json()['id']}/answer", {"statement": "已按剩余课时退费。"}
    )
    assert answered.status_code == 200, answered.content
    with at(date(2026, 10, 12)):
        assert complaint_sweep()["statements_reminded"] == 0
