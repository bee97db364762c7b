"""Phone-first pages in a real browser at 390x844: every existing page each persona may use is measured. None may
scroll sideways (the document is no wider than the phone) and every primary action (a submit button, an action
link, a pagination link, the verification page's "report a problem") is at least 44 px tall.

One browser, one context per persona (signed in by its session cookie, no login page round trips)."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from afterschool.admission import services as admission_services
from afterschool.schedule.models import Programme, Session
from supervision.models import RectificationOrder, StatementRequest
from tests.afterschool.admission_support import add_documents, service_data
from tests.conftest import make_user
from tests.e2e.conftest import institution_work
from tests.e2e.test_fee_page import build as build_fee_school
from tests.factories import ComplaintFactory, InstitutionFactory
from tests.institutions.helpers import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("PHONE_SHOTS", "")
MIN_TAP = 44
# Primary actions: what a thumb must hit. Inline text links inside sentences may stay smaller.
PRIMARY = "main button, main input[type=submit], main a.action, main .pager a, a.report"
MEASURE = """(selector) => {
  const doc = document.documentElement;
  const box = (el) => el.getBoundingClientRect();
  const visible = (el) => { const r = box(el); return r.width > 0 && r.height > 0; };
  const describe = (el) =>
    el.outerHTML.slice(0, 90) + " w=" + box(el).width.toFixed(0) + " h=" + box(el).height.toFixed(1);
  const inScrollBox = (el) => {
    for (let p = el.parentElement; p && p !== doc; p = p.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const small = [...document.querySelectorAll(selector)].filter(visible)
    .filter((el) => box(el).height < MIN_TAP).map(describe);
  // Past the right edge (outside a box that scrolls on its own): what makes a page scroll sideways.
  const wide = [...document.querySelectorAll("body *")].filter(visible)
    .filter((el) => box(el).right > doc.clientWidth + 1 && !inScrollBox(el)).map(describe);
  // A table squeezed into the phone: cells too narrow for their words (a name printed one character per line).
  const squeezed = [...document.querySelectorAll("main td, main th")].filter(visible)
    .filter((el) => !inScrollBox(el) && el.innerText.trim().length > 2 && box(el).width < 48 && box(el).height > 40)
    .map(describe);
  const taps = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
    .filter(visible);
  return { width: doc.scrollWidth, height: doc.scrollHeight, small, wide: wide.slice(0, 5),
           squeezed: squeezed.slice(0, 5), taps: taps.length,
           smallTaps: taps.filter((el) => box(el).height < MIN_TAP).length };
}""".replace("MIN_TAP", str(MIN_TAP))


def world():
    """A school with a locked allocation run (its admin, two teachers, a parent with a child), outside coaches'
    applications at each step, a complaint, and a registry long enough to page."""
    admin, teacher, run = build_fee_school()
    school = run.school
    parent = User.objects.get(name="张家长")
    bureau = make_user("区教委王科长", Role.BUREAU_STAFF, region=school.town)
    coach = make_user("何教练")
    waiting = admission_services.admission_create(actor=coach, **service_data(school, seq=7, name="何教练"))
    add_documents(coach, waiting)
    admission_services.admission_submit(actor=coach, admission=waiting)
    coach2 = make_user("陈教练")
    at_bureau = admission_services.admission_create(actor=coach2, **service_data(school, seq=8, name="陈教练"))
    add_documents(coach2, at_bureau)
    admission_services.admission_submit(actor=coach2, admission=at_bureau)
    admission_services.admission_school_review(actor=admin, admission=at_bureau, approve=True)
    drafter = make_user("李教练")
    draft = admission_services.admission_create(actor=drafter, **service_data(school, seq=9, name="李教练"))
    long_name = "重庆市涪陵区青少年科学技术与文化艺术综合素质拓展培训中心有限责任公司"
    institutions = [make_institution(f"{long_name}{i:02d}") for i in range(25)]
    staff = make_user("机构员工", Role.INSTITUTION_STAFF, institution=institutions[0])
    complaint = ComplaintFactory(parent=parent, institution=institutions[1])
    answered = ComplaintFactory(
        parent=parent, institution=institutions[0], status="answered", outcome="substantiated",
        answer="经查属实，已责令机构退还剩余费用。" * 3, answered_at=timezone.now(),
    )  # fmt: skip
    institution_work(answered)  # a statement request and a rectification order for institutions[0]
    statement = StatementRequest.objects.get(complaint=answered)
    order = RectificationOrder.objects.get(institution=institutions[0])
    InstitutionFactory(name="停业整顿的机构", town=school.town, status="suspended")
    programme = Programme.objects.filter(term=run.term).first()
    session = Session.objects.filter(programme=programme).first()
    token = institutions[0].tokens.get().token
    t = f"/afterschool/schools/{school.pk}/timetable/"
    return {
        None: [f"/v/{token}", "/inspections/results/", "/afterschool/third-parties", "/login/"],
        parent: [
            "/registry/",
            f"/complaints/new?institution={institutions[1].pk}",
            "/complaints/new",
            f"/complaints/{complaint.pk}/",
            f"/complaints/{answered.pk}/",
            "/complaints/?filter=mine",
            "/afterschool/",
            "/afterschool/children/",
        ],
        bureau: [
            "/registry/",
            "/registry/?page=2",
            "/afterschool/",
            "/afterschool/coverage/",
            t,
            "/afterschool/admissions/review/",
            f"/afterschool/admissions/{at_bureau.pk}/",
            "/afterschool/fees/",
            f"/afterschool/fees/runs/{run.pk}/",
            "/inspections/results/",
        ],
        admin: [
            "/afterschool/",
            t,
            f"/afterschool/programmes/{programme.pk}/roster/",
            f"/afterschool/sessions/{session.pk}/sign-in/",
            "/afterschool/admissions/review/",
            f"/afterschool/admissions/{waiting.pk}/",
            "/afterschool/fees/",
            f"/afterschool/fees/runs/{run.pk}/",
        ],
        teacher: ["/afterschool/", t, f"/afterschool/fees/runs/{run.pk}/"],
        coach: ["/afterschool/admissions/", "/afterschool/admissions/new/", f"/afterschool/admissions/{waiting.pk}/"],
        drafter: [f"/afterschool/admissions/{draft.pk}/", "/afterschool/admissions/new/"],
        staff: [
            "/registry/",
            "/afterschool/admissions/",
            f"/complaints/statements/{statement.pk}/",
            f"/inspections/orders/{order.pk}/",
        ],
    }


def session_cookie(user, url: str) -> list[dict]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    return [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
             "url": url}]  # fmt: skip


def test_no_page_of_any_persona_scrolls_sideways_on_a_phone(live_server, browser):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        visits = world()
        failures, measured = [], []
        for user, paths in visits.items():
            context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
            context.set_default_timeout(10_000)
            context.add_cookies(session_cookie(user, live_server.url))
            page = context.new_page()
            for path in paths:
                response = page.goto(live_server.url + path)
                assert response.status == 200, (getattr(user, "name", "anonymous"), path, response.status)
                if "/timetable/" in path and not (  # a list of days on a phone, not a squeezed grid
                    page.get_by_test_id("timetable").is_hidden()
                    and page.get_by_test_id("timetable-days").is_visible()
                    and page.get_by_test_id("phone-session").count() >= 4
                ):
                    failures.append((getattr(user, "name", "anonymous"), path, "the grid, not the day list"))
                if SHOTS:  # PHONE_SHOTS=/some/dir: a full-page picture of each, to look at
                    name = f"{getattr(user, 'pk', 0)}{path}".strip("/").replace("/", "_").replace("?", "_")
                    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
                m = page.evaluate(MEASURE, PRIMARY)
                measured.append((path, m["width"], m["height"], m["taps"], m["smallTaps"]))
                if m["width"] > PHONE["width"] or m["small"] or m["wide"] or m["squeezed"]:
                    who = getattr(user, "name", "anonymous")
                    failures.append((who, path, m["width"], m["wide"], m["squeezed"], m["small"]))
            context.close()
        for row in measured:
            print("{:48} width {:4} height {:5} taps {:3} under 44px {:3}".format(*row))
        assert len(measured) == sum(len(p) for p in visits.values()) >= 35
        assert not failures, "\n".join(map(repr, failures))


def test_a_form_shown_with_errors_stays_inside_the_phone(live_server, browser):
    """The admission form sent empty: its summary and the message beside each field fit the phone too."""
    coach = make_user("何教练")
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    context.add_cookies(session_cookie(coach, live_server.url))
    page = context.new_page()
    page.goto(f"{live_server.url}/afterschool/admissions/new/")
    page.get_by_role("button", name="保存草稿", exact=True).click()
    summary = page.get_by_test_id("error-summary")
    assert summary.is_visible() and summary.get_attribute("role") == "alert"
    assert summary.locator("a").count() >= 3  # every field's problem at once, each linking to its field
    for href in summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href  # each links to its field
    m = page.evaluate(MEASURE, PRIMARY)
    assert m["width"] <= PHONE["width"] and not (m["small"] or m["wide"] or m["squeezed"]), m
    context.close()
