"""The 12345 platform's deadline drives the complaint's clock: the due day is the earlier of the policy's and the
work order's, at filing, at acceptance and after a pause; the desk's deadline filters and pages follow it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from accounts.models import Role
from supervision.complaints import services, sla
from supervision.complaints.hotline import services as hotline
from supervision.models import Complaint, HotlineEvent, RoutingRule
from tests.conftest import DISTRICT, make_user, region
from tests.supervision.test_hotline import order, send

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 16)  # an ordinary week, in a year the official calendar knows


@pytest.fixture
def system(db):
    admin = make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))
    system, key = hotline.system_register(actor=admin, name="重庆12345", callback_url="http://127.0.0.1:9/cb")
    system.key = key
    return system


@pytest.fixture
def handler(registered, staff_a):
    RoutingRule.objects.create(town=registered.town, category=None, handler=staff_a)
    services.clear_routing_cache()
    return staff_a


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False)


def deadline(day: date) -> str:
    return f"{day.isoformat()}T18:00:00+08:00"


def desk(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_earlier_12345_deadline_is_the_complaints_due_day(system, registered, handler):
    with at(MONDAY):
        platform_due = sla.add_working_days(MONDAY, 5)  # the policy gives 15 working days to answer
        policy_due = sla.add_working_days(MONDAY, 15)
        response = send(system, order(registered, deadline=deadline(platform_due)))
        assert response.status_code == 201, response.content
        cid = response.json()["complaint_id"]
        c = services.complaint_act(actor=handler, complaint_id=cid, action="accept", data={})
    assert c.sla_due_on == platform_due < policy_due
    assert c.sla_warn_on <= platform_due
    assert Complaint.objects.get(pk=cid).sla_due_on == platform_due
    # The event sent back to 12345 carries the same due day.
    accept = HotlineEvent.objects.get(order__complaint_id=cid, kind="accept")
    assert accept.payload["due_on"] == platform_due.isoformat()


def test_a_later_12345_deadline_leaves_the_policys(system, registered, handler):
    with at(MONDAY):
        cid = send(system, order(registered, deadline=deadline(MONDAY + timedelta(days=90)))).json()["complaint_id"]
        c = services.complaint_act(actor=handler, complaint_id=cid, action="accept", data={})
    assert c.sla_due_on == sla.add_working_days(MONDAY, c.category.answer_working_days)


def test_the_accept_clock_at_filing_is_capped_too(system, registered, handler):
    with at(MONDAY):
        policy_accept = sla.add_working_days(MONDAY, sla.accept_working_days(MONDAY))
        cid = send(system, order(registered, deadline=deadline(MONDAY))).json()["complaint_id"]
    c = Complaint.objects.get(pk=cid)
    assert c.sla_phase == "accept" and c.sla_due_on == MONDAY <= policy_accept
    received = HotlineEvent.objects.get(order__complaint_id=cid, kind="received")
    assert received.payload["due_on"] == MONDAY.isoformat()


def test_a_deadline_already_past_does_not_make_a_new_clock_overdue(system, registered, handler):
    with at(MONDAY):
        cid = send(system, order(registered, deadline=deadline(MONDAY - timedelta(days=3)))).json()["complaint_id"]
        c = services.complaint_act(actor=handler, complaint_id=cid, action="accept", data={})
    assert c.sla_due_on == sla.add_working_days(MONDAY, c.category.answer_working_days)


def test_a_pause_does_not_move_the_due_day_past_the_platforms(system, registered, handler):
    platform_due = sla.add_working_days(MONDAY, 6)
    with at(MONDAY):
        cid = send(system, order(registered, deadline=deadline(platform_due))).json()["complaint_id"]
        services.complaint_act(actor=handler, complaint_id=cid, action="accept", data={})
        services.complaint_ask_parent(actor=handler, complaint_id=cid, body="请提供缴费收据照片。")
    c = Complaint.objects.get(pk=cid)
    # The system user is the complaint's "parent": it is 12345 that answers for the caller.
    with at(sla.add_working_days(MONDAY, 3)):
        services.complaint_message_post(actor=c.parent, complaint_id=cid, body="来电人已补充收据。")
    assert Complaint.objects.get(pk=cid).sla_due_on == platform_due


def test_the_desk_filters_and_page_follow_the_platforms_deadline(system, registered, handler, parent):
    today = date.today()
    with at(today):
        tomorrow = sla.add_working_days(today, 1)
        cid = send(system, order(registered, deadline=deadline(tomorrow))).json()["complaint_id"]
        services.complaint_act(actor=handler, complaint_id=cid, action="accept", data={})
        other, _ = services.complaint_file(
            actor=parent,
            filing=services.Filing(
                category="refund", description="报名后孩子只上了两节课，机构拒绝退还剩余费用。",
                occurred_at=datetime.now(SHANGHAI) - timedelta(days=1), institution_id=registered.pk,
            ),
        )  # fmt: skip
        services.complaint_act(actor=handler, complaint_id=other.pk, action="accept", data={})
        html = desk(handler).get("/desk/?state=open&deadline=due_soon").content.decode()
        assert f'data-testid="row-{cid}"' in html and f'data-testid="row-{other.pk}"' not in html
        page = desk(handler).get(f"/desk/complaints/{cid}/").content.decode()
        assert tomorrow.strftime("%Y-%m-%d") in page
    with at(tomorrow + timedelta(days=1)):
        html = desk(handler).get("/desk/?state=open&deadline=overdue").content.decode()
        assert f'data-testid="row-{cid}"' in html and f'data-testid="row-{other.pk}"' not in html
