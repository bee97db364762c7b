"""Pages that count school days from the holiday calendar say their figures are provisional ("暂定") while a year's
holidays are not entered (the package stops at 2026), and lose the badge once the bureau enters the year; the bills
list's "owed only" filter is a query filter applied before paging."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from afterschool.fees.models import Bill, Payment, SchoolAccount
from core.models import CalendarDay
from tests.afterschool.conftest import make_programme, make_session, make_student
from tests.conftest import client_for
from tests.factories import TermFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def term_into_2027(school_x):
    return TermFactory(school=school_x, name="2026 秋季", starts_on=date(2026, 9, 1), ends_on=date(2027, 1, 22))


@pytest.fixture
def term_2026(school_x):
    return TermFactory(school=school_x, name="2026 春季", starts_on=date(2026, 3, 2), ends_on=date(2026, 6, 30))


def _badge(html: str) -> bool:
    return 'data-testid="provisional-badge"' in html and "暂定" in html


def test_fee_pages_say_bills_are_provisional_until_the_year_is_entered(term_into_2027, school_admin_x):
    c = client_for(school_admin_x)
    term_page = c.get(f"/afterschool/fees/terms/{term_into_2027.pk}/").content.decode()
    bills_page = c.get(f"/afterschool/fees/terms/{term_into_2027.pk}/bills/").content.decode()
    for html in (term_page, bills_page):
        assert _badge(html) and "2027 年的法定节假日和调休尚未录入" in html
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    assert not _badge(c.get(f"/afterschool/fees/terms/{term_into_2027.pk}/").content.decode())
    assert not _badge(c.get(f"/afterschool/fees/terms/{term_into_2027.pk}/bills/").content.decode())


def test_a_term_inside_a_known_year_has_no_badge(term_2026, school_admin_x):
    c = client_for(school_admin_x)
    assert not _badge(c.get(f"/afterschool/fees/terms/{term_2026.pk}/").content.decode())
    assert not _badge(
        c.get(f"/afterschool/school/{term_2026.school_id}/terms/{term_2026.pk}/timetable/").content.decode()
    )


def test_timetable_and_coverage_pages_say_5_plus_2_is_provisional(
    term_into_2027, school_x, school_admin_x, bureau_staff, teacher_x
):
    make_session(make_programme(term_into_2027, "作业辅导", kind="homework_care"), teacher_x)
    c = client_for(school_admin_x)
    edit = c.get(f"/afterschool/school/{school_x.pk}/terms/{term_into_2027.pk}/timetable/").content.decode()
    week = c.get(f"/afterschool/schools/{school_x.pk}/timetable/?term={term_into_2027.pk}").content.decode()
    for html in (edit, week):
        assert _badge(html) and "“5+2”检查与课次为暂定" in html
    cover = client_for(bureau_staff).get("/afterschool/coverage/").content.decode()  # the running term (Nov 2026)
    assert _badge(cover) and 'data-testid="row-provisional"' in cover
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    edit = c.get(f"/afterschool/school/{school_x.pk}/terms/{term_into_2027.pk}/timetable/").content.decode()
    assert not _badge(edit)


def test_the_provisional_badge_is_only_for_the_schools_people(term_into_2027, school_admin_y, parent):
    for user in (school_admin_y, parent):
        assert client_for(user).get(f"/afterschool/fees/terms/{term_into_2027.pk}/bills/").status_code == 404


# --- "Owed only" before paging ---------------------------------------------------------------------------------------


def _bills(term, klass, n, paid_first: int) -> list[Bill]:
    account = SchoolAccount.objects.create(school=term.school, bank="农行", account_name="X", account_number="6228")
    bills = []
    for i in range(n):
        kid = make_student(term.school, klass, f"学生{i:03d}")
        bill = Bill.objects.create(student=kid, term=term, school=term.school, basis="per_lesson", rate=Decimal("3.00"),
                                   lessons=10, gross=Decimal("30.00"), amount=Decimal("30.00"))  # fmt: skip
        if i < paid_first:
            Payment.objects.create(bill=bill, account=account, amount=Decimal("30.00"), paid_on=date(2026, 3, 9),
                                   reference=f"R{i}")  # fmt: skip
        bills.append(bill)
    return bills


def test_owed_only_filters_before_paging(term_2026, class_x, school_admin_x):
    # The first 55 bills (by class and name) are paid: the owed ones are all beyond the first page of 50.
    _bills(term_2026, class_x, 60, paid_first=55)
    c = client_for(school_admin_x)
    url = f"/afterschool/fees/terms/{term_2026.pk}/bills/"
    all_pages = c.get(url).content.decode()
    assert "学生000" in all_pages and "学生055" not in all_pages and 'rel="next"' in all_pages
    owed = c.get(url + "?owed=1")
    html = owed.content.decode()
    assert owed.context["page"].paginator.count == 5
    assert [b.student.name for b in owed.context["bills"]] == [f"学生{i:03d}" for i in range(55, 60)]
    assert all(b.owed == Decimal("30.00") for b in owed.context["bills"])
    assert "学生000" not in html and 'rel="next"' not in html


def test_owed_only_pages_keep_the_filter_and_cost_flat_queries(
    term_2026, class_x, school_admin_x, django_assert_max_num_queries
):
    _bills(term_2026, class_x, 120, paid_first=10)
    c = client_for(school_admin_x)
    url = f"/afterschool/fees/terms/{term_2026.pk}/bills/?owed=1"
    first = c.get(url)
    assert first.context["page"].paginator.count == 110
    assert 'href="?owed=1&amp;page=2"' in first.content.decode()
    second = c.get(url + "&page=2")
    assert second.context["bills"][0].student.name == "学生060"
    with django_assert_max_num_queries(40) as ten:
        assert len(c.get(url + "&page=3").context["bills"]) == 10
    n = len(ten.captured_queries)  # read now: the next request resets the connection's query log
    # Fifty rows cost what ten cost: the filter and the sums are in the query, nothing per row.
    with django_assert_max_num_queries(n):
        assert len(c.get(url).context["bills"]) == 50


def test_the_parents_bill_says_provisional(term_into_2027, class_x, parent):
    kid = make_student(term_into_2027.school, class_x, "刘小宇", guardian=parent)
    Bill.objects.create(student=kid, term=term_into_2027, school=term_into_2027.school, basis="per_lesson",
                        rate=Decimal("3.00"), lessons=10, gross=Decimal("30.00"), amount=Decimal("30.00"))  # fmt: skip
    html = client_for(parent).get(f"/afterschool/children/{kid.pk}/").content.decode()
    assert _badge(html) and "学校录入后可能重新出具账单" in html
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    assert not _badge(client_for(parent).get(f"/afterschool/children/{kid.pk}/").content.decode())
