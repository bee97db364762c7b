"""The district dashboard (教育驾驶舱): bureau staff see the district or one town, every number links to the rows
behind it, the figures are exported (xlsx, weekly PDF), the page costs a fixed number of queries and says how old
its figures are."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from core.models import CalendarDay
from institutions.models import Status
from tests.conftest import TOWN_A, TOWN_B, client_for, make_user, region

from .helpers import complaints, institutions

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db):
    a = institutions(3, TOWN_A, status=Status.LICENSED)
    institutions(2, TOWN_B, status=Status.UNLICENSED)
    complaints(2, a[0], overdue=True)
    complaints(1, a[1])
    return a


def test_district_dashboard_shows_the_figures_and_the_time_they_are_of(bureau_staff, data):
    r = client_for(bureau_staff).get("/console/dashboard/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "教育驾驶舱 · 全区" in html
    assert "数据截至" in html and 'data-testid="as-of"' in html
    assert 'data-testid="towns"' in html  # the towns to drill into
    assert "vendor/echarts/echarts.min.js" in html and "console/dashboard.js" in html
    f = r.context["f"]
    assert f["inst"]["total"] == 5 and f["inst"]["unlicensed"] == 2
    assert f["cmp"]["open"] == 3 and f["cmp"]["overdue"] == 2
    assert "<script>" not in html  # no inline script (CSP): the chart data is a JSON block
    assert 'id="dashboard-charts" type="application/json"' in html


def test_drill_down_from_district_to_town_to_the_list_behind_a_number(bureau_staff, data):
    c = client_for(bureau_staff)
    town = region(TOWN_A)
    district = c.get("/console/dashboard/").content.decode()
    assert f"/console/dashboard/?town={town.pk}" in district
    page = c.get(f"/console/dashboard/?town={town.pk}")
    assert page.status_code == 200
    f = page.context["f"]
    assert f["inst"]["total"] == 3 and f["cmp"]["overdue"] == 2
    overdue_link = page.context["links"]["cmp_overdue"]
    assert overdue_link == f"/console/dashboard/list/?slice=cmp_overdue&town={town.pk}"
    listed = c.get(overdue_link)
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 2  # the number and its list agree
    by_status = [r for r in f["inst_status"] if r["key"] == Status.LICENSED][0]
    rows = c.get(by_status["url"])
    assert rows.context["page"].paginator.count == by_status["n"] == 3


def test_town_bureau_sees_only_its_town(data):
    town_staff = make_user("镇街科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    c = client_for(town_staff)
    r = c.get("/console/dashboard/")
    assert r.context["f"]["inst"]["total"] == 3
    assert c.get(f"/console/dashboard/?town={region(TOWN_B).pk}").status_code == 404
    assert c.get(f"/console/dashboard/list/?slice=institutions&town={region(TOWN_B).pk}").status_code == 404


@pytest.mark.parametrize("who", ["parent", "inspector_a", "school_admin_x", "institution_staff"])
def test_others_get_404(request, who, data):
    user = request.getfixturevalue(who)
    c = client_for(user)
    for url in (
        "/console/dashboard/",
        "/console/dashboard/list/?slice=institutions",
        "/console/dashboard.xlsx",
        "/console/dashboard/weekly/",
        "/console/dashboard/weekly.pdf",
    ):
        assert c.get(url).status_code == 404, url


def test_anonymous_is_sent_to_sign_in():
    r = Client().get("/console/dashboard/")
    assert r.status_code == 302 and "/login" in r["Location"]


def test_bad_slice_key_or_town_is_404(bureau_staff, data):
    c = client_for(bureau_staff)
    assert c.get("/console/dashboard/list/?slice=nope").status_code == 404
    assert c.get("/console/dashboard/list/").status_code == 404
    assert c.get("/console/dashboard/list/?slice=inst_expiring&key=x").status_code == 404  # not a grouped figure
    assert c.get("/console/dashboard/?town=abc").status_code == 404


def _queries(client, url, django_assert_max_num_queries, limit) -> int:
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_queries_do_not_grow_with_the_data(bureau_staff, django_assert_max_num_queries):
    from django.core.cache import cache

    c = client_for(bureau_staff)
    a = institutions(2, TOWN_A)
    complaints(2, a[0])
    small = _queries(c, "/console/dashboard/?fresh=1", django_assert_max_num_queries, 60)
    more = institutions(30, TOWN_B, status=Status.LICENSED)
    for inst in more[:10]:
        complaints(3, inst, overdue=True)
    cache.clear()
    big = _queries(c, "/console/dashboard/?fresh=1", django_assert_max_num_queries, 60)
    assert big <= small + 2  # a second town may add its name lookup at most
    listed = _queries(c, "/console/dashboard/list/?slice=cmp_overdue", django_assert_max_num_queries, 15)
    assert listed <= 12


def test_figures_are_cached_at_most_five_minutes_and_the_page_says_how_old(
    bureau_staff, data, django_assert_max_num_queries
):
    c = client_for(bureau_staff)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        c.get("/console/dashboard/")
    institutions(4, TOWN_A)
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        r = c.get("/console/dashboard/")
        assert r.context["f"]["inst"]["total"] == 5  # from the cache
        assert r.context["age_minutes"] == 3
        assert "3 分钟前" in r.content.decode()
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        r = c.get("/console/dashboard/")
        assert r.context["f"]["inst"]["total"] == 9  # never older than the limit
        assert r.context["age_minutes"] == 0


def test_xlsx_export(bureau_staff, data):
    from openpyxl import load_workbook

    r = client_for(bureau_staff).get("/console/dashboard.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    summary = {row[0]: row[1] for row in wb["概要"].iter_rows(values_only=True)}
    assert summary["机构总数"] == 5
    assert summary["已逾期投诉"] == 2
    assert "镇街" in wb.sheetnames


def test_weekly_briefing_page_and_pdf(bureau_staff, data):
    c = client_for(bureau_staff)
    page = c.get("/console/dashboard/weekly/")
    assert page.status_code == 200 and "“双减”工作周报" in page.content.decode()
    pdf = c.get("/console/dashboard/weekly.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_figures_in_a_year_not_entered_are_marked_provisional(bureau_staff, data):
    with time_machine.travel(date(2027, 3, 1), tick=False):
        c = client_for(bureau_staff)  # signed in on that day (a session does not outlive its age)
        html = c.get("/console/dashboard/?fresh=1").content.decode()
        assert 'data-testid="provisional"' in html and "暂定" in html
        CalendarDay.objects.create(date=date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
        html = c.get("/console/dashboard/?fresh=1").content.decode()
        assert 'data-testid="provisional"' not in html


def test_a_known_year_is_not_provisional(bureau_staff, data):
    with time_machine.travel(date(2026, 3, 2), tick=False):
        html = client_for(bureau_staff).get("/console/dashboard/?fresh=1").content.decode()
    assert 'data-testid="provisional"' not in html
