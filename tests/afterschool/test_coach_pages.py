"""Outside coaches' own page (their admission, sessions and statements), a third party's people, a coach whose
admission lapses mid-term (taken off future sessions, the school told), and the API's money and session messages."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine

from afterschool.admission import tasks
from afterschool.admission.models import Admission
from afterschool.schedule.models import Session, Staff
from core.models import AuditEvent, Notification
from tests.afterschool.test_fee_helpers import build_term
from tests.conftest import assert_error, client_for, make_user
from tests.factories import SessionFactory

from .admission_support import admitted
from .conftest import make_programme

pytestmark = pytest.mark.django_db


def test_a_coach_sees_their_admission_sessions_and_statements(coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    staff = Staff.objects.get(outside_person=a.person)
    programme = make_programme(term_x, "围棋", kind="clubs")
    SessionFactory(programme=programme, weekday=4, starts_at=time(16), ends_at=time(17), staff=staff,
                   first_date=date(2026, 11, 27), last_date=date(2026, 12, 25))  # fmt: skip
    html = client_for(coach).get("/afterschool/coach/").content.decode()
    assert term_x.school.name in html and "围棋" in html and 'data-testid="coach-session"' in html
    assert f"/afterschool/admissions/{a.pk}/" in html
    # Someone else (a parent, another coach) sees none of it.
    other = client_for(make_user("另一位教练")).get("/afterschool/coach/").content.decode()
    assert "围棋" not in other


def test_a_coach_opens_their_own_statement_but_no_one_elses(school_x, class_x, teacher_x, teacher_x2, parent,
                                                            school_admin_x):  # fmt: skip
    from afterschool.fees import allocation as fee_allocation
    from afterschool.fees import services as fees
    from tests.afterschool.test_fee_helpers import take_attendance

    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    coach = make_user("马画师本人")
    s.outside_staff.outside_person.user = coach
    s.outside_staff.outside_person.save(update_fields=["user"])
    fees.rate_set(actor=school_admin_x, term_id=s.term.pk, basis="per_lesson", amount="30.00")
    fees.bills_issue(actor=school_admin_x, term_id=s.term.pk)
    take_attendance(s)
    fee_allocation.plan_set(actor=school_admin_x, term_id=s.term.pk,
                            shares={"teacher": "50", "outside": "40", "operations": "5", "reserve": "5"})  # fmt: skip
    run = fee_allocation.run_compute(actor=school_admin_x, term_id=s.term.pk)
    c = client_for(coach)
    html = c.get("/afterschool/coach/").content.decode()
    own = f"/afterschool/fees/runs/{run.pk}/statements/{s.outside_staff.pk}.xlsx"
    assert own in html
    assert c.get(own).status_code == 200
    teacher_line = run.lines.get(staff__user=teacher_x)
    assert c.get(f"/afterschool/fees/runs/{run.pk}/statements/{teacher_line.staff_id}.xlsx").status_code == 404
    assert c.get(f"/afterschool/fees/runs/{run.pk}/").status_code == 404


def test_a_third_party_sees_its_people(institution_staff, institution_a, school_admin_x, bureau_staff, term_x, coach):
    institution_a.status = "licensed"
    institution_a.on_national_platform = True
    institution_a.national_platform_since = date(2024, 3, 1)
    institution_a.save()
    admitted(institution_staff, school_admin_x, bureau_staff, term_x.school, seq=7, name="周老师",
             institution_id=institution_a.pk, fee_per_lesson="60.00", market_price="100.00")  # fmt: skip
    html = client_for(institution_staff).get("/afterschool/coach/people/").content.decode()
    assert "周老师" in html and 'data-testid="person"' in html
    assert client_for(coach).get("/afterschool/coach/people/").status_code == 404
    assert client_for(school_admin_x).get("/afterschool/coach/people/").status_code == 404


def test_a_coach_whose_admission_lapses_mid_term_is_taken_off_future_sessions(
    coach, school_admin_x, bureau_staff, term_x
):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    staff = Staff.objects.get(outside_person=a.person)
    programme = make_programme(term_x, "围棋", kind="clubs")
    s = SessionFactory(programme=programme, weekday=4, starts_at=time(16), ends_at=time(17), staff=staff,
                       first_date=date(2026, 9, 4), last_date=date(2026, 12, 25))  # fmt: skip
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 11, 30))  # lapses mid-term
    with time_machine.travel("2026-12-01T08:00+08:00", tick=False):
        assert tasks.admission_daily()["expired"] == 1
        assert tasks.admission_daily()["expired"] == 0  # a rerun changes nothing
    s.refresh_from_db()
    assert s.staff_id == staff.pk and s.last_date == date(2026, 11, 30)  # the past keeps its teacher
    future = Session.objects.get(programme=programme, first_date=date(2026, 12, 1))
    assert future.staff_id is None and future.needs_staff and future.last_date == date(2026, 12, 25)
    told = Notification.objects.get(recipient=school_admin_x, kind="admission.needs_staff")
    assert "准入已过期" in told.title and "1 个课时待安排授课人员" in told.title
    assert AuditEvent.objects.filter(verb="admission.sessions_released").count() == 1


def test_a_renewal_keeps_the_coach_on_their_sessions(coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    staff = Staff.objects.get(outside_person=a.person)
    programme = make_programme(term_x, "围棋", kind="clubs")
    s = SessionFactory(programme=programme, weekday=4, starts_at=time(16), ends_at=time(17), staff=staff,
                       first_date=date(2026, 9, 4), last_date=date(2026, 12, 25))  # fmt: skip
    renewal = Admission.objects.get(pk=a.pk)
    renewal.pk = None
    renewal.valid_from, renewal.valid_until = date(2026, 12, 1), date(2027, 11, 30)
    renewal.save()
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 11, 30))
    with time_machine.travel("2026-12-01T08:00+08:00", tick=False):
        assert tasks.admission_daily()["expired"] == 1
    s.refresh_from_db()
    assert s.staff_id == staff.pk and s.last_date == date(2026, 12, 25)


def test_money_with_three_decimals_says_at_most_two_decimals(api_as, school_admin_x, term_x):
    err = assert_error(
        api_as(school_admin_x).post(f"fees/terms/{term_x.pk}/rate", {"basis": "per_lesson", "amount": "3.005"}),
        422,
    )
    assert err["fields"]["amount"] == "最多两位小数"
    english = api_as(school_admin_x, lang="en")
    err = assert_error(english.post(f"fees/terms/{term_x.pk}/rate", {"basis": "per_lesson", "amount": "3.005"}), 422)
    assert "2 decimal places" in err["fields"]["amount"]
