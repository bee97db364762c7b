"""R-ASS-2 in the schedule checks: a session whose outside person's admission lapses within the term, or who is not
admitted (any more), is reported on the school's schedule check and on the bureau's district coverage (API and
page); a session that needs staff too. The coverage still costs the same queries for one school as for two."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterschool.admission import services
from afterschool.admission.models import Admission
from afterschool.schedule.models import Staff
from tests.conftest import make_user
from tests.factories import SessionFactory

from .admission_support import admitted
from .conftest import make_programme

pytestmark = pytest.mark.django_db


def on_session(admission, term, name="书法", weekday=1, first=date(2026, 11, 25), last=date(2026, 12, 31)):
    programme = make_programme(term, name, kind="arts")
    return SessionFactory(
        programme=programme,
        weekday=weekday,
        starts_at=time(16),
        ends_at=time(17),
        staff=Staff.objects.get(outside_person=admission.person, school=programme.school),
        first_date=first,
        last_date=last,
    )


def r_ass_2(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == "R-ASS-2"]


def coverage_of(api, school_id) -> dict:
    body = api.get("afterschool/coverage", {"page_size": 100}).json()
    return next(r for r in body["items"] if r["school_id"] == school_id)


def test_a_lapsing_admission_shows_in_the_district_coverage_and_the_school_check(
    api_as, client, school_admin_x, bureau_staff, term_x
):
    a = admitted(make_user("陈教练"), school_admin_x, bureau_staff, term_x.school)
    on_session(a, term_x)
    bureau = api_as(bureau_staff)
    assert r_ass_2(coverage_of(bureau, term_x.school_id)) == []

    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 12, 15))
    found = r_ass_2(coverage_of(bureau, term_x.school_id))
    assert [f["code"] for f in found] == ["admission_lapses"] and "2026-12-15" in found[0]["message"]
    assert coverage_of(bureau, term_x.school_id)["ok"] is False
    check = api_as(school_admin_x).get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert [f["code"] for f in r_ass_2(check)] == ["admission_lapses"]  # the same finding, once

    en = api_as(bureau_staff, lang="en").get("afterschool/coverage").json()["items"][0]
    assert "admission ends on 2026-12-15" in r_ass_2(en)[0]["message"]

    client.force_login(bureau_staff)
    page = client.get("/afterschool/coverage/").content.decode()
    assert 'data-rule="R-ASS-2"' in page and "陈教练准入于 2026-12-15 到期" in page


def test_a_person_not_admitted_to_the_school_is_reported(api_as, school_admin_x, bureau_staff, term_x):
    """An expired admission (the daily task ran) leaves the person on the session: reported as no longer valid."""
    a = admitted(make_user("陈教练"), school_admin_x, bureau_staff, term_x.school)
    on_session(a, term_x)
    Admission.objects.filter(pk=a.pk).update(status="expired")
    found = r_ass_2(coverage_of(api_as(bureau_staff), term_x.school_id))
    assert [f["code"] for f in found] == ["admission_lapses"] and "已失效" in found[0]["message"]


def test_a_revocation_shows_sessions_needing_staff_but_not_the_past(
    api_as, client, school_admin_x, bureau_staff, term_x
):
    a = admitted(make_user("陈教练"), school_admin_x, bureau_staff, term_x.school)
    on_session(a, term_x, first=date(2026, 9, 1))  # already ran: split at today, the past keeps the person
    services.admission_revoke(actor=bureau_staff, admission=a, reason="poor_service")
    found = r_ass_2(coverage_of(api_as(bureau_staff), term_x.school_id))
    assert [f["code"] for f in found] == ["needs_staff"]  # the past part is not "lapsing"
    client.force_login(bureau_staff)
    assert "待安排授课人员" in client.get("/afterschool/coverage/").content.decode()


def test_others_do_not_see_the_findings(api_as, school_admin_x, school_admin_y, bureau_staff, inspector_b, term_x):
    a = admitted(make_user("陈教练"), school_admin_x, bureau_staff, term_x.school)
    on_session(a, term_x)
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 12, 15))
    for outsider in (school_admin_y, inspector_b):
        ids = [r["school_id"] for r in api_as(outsider).get("afterschool/coverage").json()["items"]]
        assert term_x.school_id not in ids


def test_coverage_queries_do_not_grow_with_outside_sessions(
    api_as, school_admin_x, school_admin_y, bureau_staff, term_x, term_y
):
    api = api_as(bureau_staff)
    a = admitted(make_user("陈教练"), school_admin_x, bureau_staff, term_x.school)
    on_session(a, term_x)
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 12, 15))
    api.get("afterschool/coverage")
    with CaptureQueriesContext(connection) as one:
        api.get("afterschool/coverage")
    b = admitted(make_user("李教练"), school_admin_y, bureau_staff, term_y.school, seq=2, name="李教练")
    for i in range(5):
        on_session(b, term_y, name=f"项目{i}", weekday=i)
    Admission.objects.filter(pk=b.pk).update(valid_until=date(2026, 12, 15))
    with CaptureQueriesContext(connection) as two:
        body = api.get("afterschool/coverage").json()
    assert len(one) == len(two)
    assert sum(len(r_ass_2(r)) for r in body["items"]) == 6
