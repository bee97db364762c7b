"""Each role's home: one section per role, each card's count against hand-made data, and what another scope holds
never counted. Time stands on Wednesday 2026-11-25 at 17:00 (tests/portal/conftest.py)."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest

from accounts.models import Role
from afterschool.models import Application, Attendance
from institutions.models import ChangeProposal, Institution
from supervision.models import RectificationOrder, StatementRequest
from tests.afterschool.conftest import enrol, make_programme, make_session, make_student
from tests.conftest import TOWN_A, TOWN_B, make_user
from tests.factories import (
    AdmissionFactory,
    AttendanceFactory,
    BillFactory,
    ComplaintFactory,
    ExemptionFactory,
    FindingFactory,
    InspectionFactory,
    InstitutionFactory,
    OutsidePersonFactory,
    OutsideStaffFactory,
    SchoolClassFactory,
    TermFactory,
    UserFactory,
    region,
)
from tests.portal.conftest import TODAY, counts, home

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_afternoon")]

THURSDAY, FRIDAY, NEXT_MONDAY = TODAY + timedelta(days=1), TODAY + timedelta(days=2), TODAY + timedelta(days=5)
MONDAY, YESTERDAY = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


# --- inspector ------------------------------------------------------------------------------------------------------


def order_for(visit, *, status, by) -> RectificationOrder:
    finding = FindingFactory(inspection=visit)
    return RectificationOrder.objects.create(
        finding=finding,
        institution=visit.institution,
        town=visit.town,
        status=status,
        due_on=TODAY + timedelta(days=10),
        evidence_required="整改",
        response="已整改" if status != "open" else "",
        issued_by=by,
    )


def test_an_inspector_sees_their_visits_today_and_this_week_and_orders_to_verify(inspector_a, inspector_b):
    InspectionFactory(inspectors=[inspector_a], due_by=TODAY)
    InspectionFactory(inspectors=[inspector_a], due_by=FRIDAY)
    InspectionFactory(inspectors=[inspector_a], due_by=MONDAY)  # earlier this week, still open
    InspectionFactory(inspectors=[inspector_a], due_by=NEXT_MONDAY)  # next week
    InspectionFactory(inspectors=[inspector_a], due_by=TODAY, status="complete")  # done
    InspectionFactory(inspectors=[inspector_a], status="in_progress")  # checked in, not submitted
    InspectionFactory(inspectors=[inspector_a], status="awaiting_photos", due_by=TODAY)
    InspectionFactory(inspectors=[inspector_b], due_by=TODAY, status="in_progress")  # someone else's
    mine = InspectionFactory(inspectors=[inspector_a], status="complete")
    order_for(mine, status="answered", by=inspector_a)
    order_for(mine, status="open", by=inspector_a)  # the institution has not answered yet
    theirs = InspectionFactory(inspectors=[inspector_b], status="complete")
    order_for(theirs, status="answered", by=inspector_b)

    sections, found = home(inspector_a)
    assert list(sections) == ["inspector"]
    assert found["visits-today"] == "2"  # due today, open (the one waiting for photos included)
    assert found["visits-week"] == "4"  # Monday, today x2, Friday
    assert found["visits-unsubmitted"] == "2"
    assert found["orders-to-verify"] == "1"
    assert found["outbox"] == "–"  # counted on the phone
    html = home_html(inspector_a)
    assert 'data-client-count="inspection-outbox"' in html
    assert counts(inspector_b)["visits-today"] == "1" and counts(inspector_b)["orders-to-verify"] == "1"


def home_html(user) -> str:
    from tests.portal.conftest import client_for

    return client_for(user).get("/").content.decode()


# --- complaint handler ----------------------------------------------------------------------------------------------


@pytest.fixture
def handler_a(db):
    """Bureau staff covering 敦仁街道: the complaints of its institutions are theirs to handle."""
    return make_user("承办人甲", Role.BUREAU_STAFF, region=region(TOWN_A))


@pytest.fixture
def handler_b(db):
    return make_user("承办人乙", Role.BUREAU_STAFF, region=region(TOWN_B))


def complaint(status="accepted", due=None, **extra):
    return ComplaintFactory(status=status, sla_due_on=due, sla_phase="answer" if due else "", **extra)


def test_a_handler_sees_complaints_to_accept_due_within_a_working_day_and_overdue(handler_a, handler_b):
    in_b = InstitutionFactory(town=region(TOWN_B))
    complaint("submitted", due=THURSDAY)  # unassigned, to accept (and due tomorrow)
    complaint("submitted", due=FRIDAY, handler=handler_a)  # theirs, to accept
    complaint("submitted", due=FRIDAY, handler=UserFactory())  # another handler's
    complaint("accepted", due=TODAY, handler=handler_a)  # due today
    complaint("investigating", due=FRIDAY, handler=handler_a)  # two working days left
    complaint("investigating", due=YESTERDAY, handler=handler_a)  # overdue
    complaint("investigating", due=YESTERDAY, handler=handler_a, paused_since=_now())  # clock paused
    complaint("answered", due=YESTERDAY, handler=handler_a, outcome="substantiated")  # answered: not open
    complaint("submitted", due=YESTERDAY, institution=in_b)  # another town's: handler_b's

    found = counts(handler_a)
    assert found["complaints-to-accept"] == "2"
    assert found["complaints-due-soon"] == "2"  # due today, and tomorrow (the next working day)
    assert found["complaints-overdue"] == "1"
    other = counts(handler_b)
    assert (other["complaints-to-accept"], other["complaints-overdue"], other["complaints-due-soon"]) == ("1", "1", "0")


def _now():
    from django.utils import timezone

    return timezone.now()


def test_due_within_a_working_day_crosses_the_weekend(handler_a):
    """On a Friday, a complaint due on Monday is due within a working day; one due on Tuesday is not."""
    import time_machine

    from tests.portal.conftest import SHANGHAI

    friday = date(2026, 11, 27)
    complaint(due=friday + timedelta(days=3), handler=handler_a)  # Monday
    complaint(due=friday + timedelta(days=4), handler=handler_a)  # Tuesday
    with time_machine.travel(datetime_at(friday, SHANGHAI), tick=False):
        assert counts(handler_a)["complaints-due-soon"] == "1"


def datetime_at(day, tz):
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=tz)


# --- bureau and district supervisor ---------------------------------------------------------------------------------


def test_the_district_supervisor_sees_the_summary_reviews_licences_and_every_overdue_complaint(
    bureau_admin, handler_b, school_x, school_y
):
    InstitutionFactory(licence_expires_on=TODAY + timedelta(days=10))  # town A, within 30 days
    InstitutionFactory(town=region(TOWN_B), licence_expires_on=TODAY + timedelta(days=30))  # town B, the last day
    InstitutionFactory(licence_expires_on=TODAY + timedelta(days=31))  # later
    InstitutionFactory(licence_expires_on=TODAY + timedelta(days=5), status="revoked")  # not watched
    AdmissionFactory(school=school_x, status="bureau_review")
    AdmissionFactory(school=school_y, status="bureau_review")
    AdmissionFactory(school=school_x, status="school_review")  # the school's step
    complaint(due=YESTERDAY)
    complaint(due=YESTERDAY, institution=InstitutionFactory(town=region(TOWN_B)))
    complaint(due=TODAY)

    sections, found = home(bureau_admin)
    assert list(sections) == ["bureau_admin"]
    assert found["institutions"] == str(Institution.objects.count())
    assert found["licences-expiring"] == "2"
    assert found["admission-reviews"] == "2"
    assert found["complaints-district-overdue"] == "2"
    assert found["complaints-open"] == "3"
    # Bureau staff of town B: only its own town's.
    other = counts(handler_b)
    assert (other["licences-expiring"], other["admission-reviews"], other["complaints-overdue"]) == ("1", "1", "1")
    assert other["institutions"] == str(Institution.objects.filter(town=region(TOWN_B)).count())


# --- school admin and teacher ---------------------------------------------------------------------------------------


@pytest.fixture
def school_day(school_x, parent):
    """School X's autumn term: a Wednesday 16:00 session (teacher A) and a Monday one (teacher B) of a programme with
    the parent's child enrolled; Monday's roll call was taken, today's not yet."""
    term = TermFactory(school=school_x)
    teacher_a = make_user("王老师", Role.TEACHER, school=school_x)
    teacher_b = make_user("赵老师", Role.TEACHER, school=school_x)
    klass = SchoolClassFactory(school=school_x, grade=3, number=1, class_teacher=teacher_a)
    child = make_student(school_x, klass, "张小明", guardian=parent)
    programme = make_programme(term, "阅读社")
    wednesday = make_session(programme, teacher_a, weekday=2)
    monday = make_session(programme, teacher_b, weekday=0)
    enrol(child, programme)
    AttendanceFactory(session=monday, student=child, date=MONDAY)
    return {"term": term, "teacher_a": teacher_a, "teacher_b": teacher_b, "class": klass, "child": child,
            "programme": programme, "wednesday": wednesday, "monday": monday}  # fmt: skip


def test_a_school_admin_sees_today_applications_gaps_admissions_and_fees(
    school_admin_x, school_admin_y, school_day, school_x, school_y
):
    klass, term = school_day["class"], school_day["term"]
    pupil = make_student(school_x, klass, "李小红")
    Application.objects.create(student=pupil, programme=school_day["programme"], status="pending")
    y_term = TermFactory(school=school_y)
    y_class = SchoolClassFactory(school=school_y)
    Application.objects.create(
        student=make_student(school_y, y_class), programme=make_programme(y_term), status="pending"
    )
    AdmissionFactory(school=school_x, status="admitted", valid_from=date(2026, 9, 1), valid_until=TODAY + timedelta(20))
    AdmissionFactory(school=school_x, status="admitted", valid_from=date(2026, 9, 1), valid_until=date(2027, 8, 31))
    AdmissionFactory(school=school_y, status="admitted", valid_from=date(2026, 9, 1), valid_until=TODAY + timedelta(3))
    ExemptionFactory(student=pupil, term=term)

    sections, found = home(school_admin_x)
    assert list(sections) == ["school_admin"]
    assert found["school-sessions-today"] == "1"
    assert found["applications-to-decide"] == "1"
    assert found["attendance-gaps"] == "1"  # today's 16:00 roll call (Monday's was taken)
    assert found["admissions-expiring"] == "1"
    assert found["fees-to-act"] == "1"  # the reduction applied for
    other = counts(school_admin_y)
    assert other["school-sessions-today"] == "0" and other["applications-to-decide"] == "1"
    assert other["admissions-expiring"] == "1" and other["fees-to-act"] == "0"


def test_a_teacher_sees_their_sessions_today_and_roll_calls_not_taken(school_day):
    sections, found = home(school_day["teacher_a"])
    assert list(sections) == ["teacher"]
    assert (found["sessions-today"], found["roll-calls"]) == ("1", "1")
    Attendance.objects.create(
        session=school_day["wednesday"], student=school_day["child"], date=TODAY, mark="present",
        client_uuid="00000000-0000-0000-0000-000000000001",
    )  # fmt: skip
    assert counts(school_day["teacher_a"])["roll-calls"] == "0"
    # Teacher B teaches on Mondays only: nothing today, and Monday's roll call was taken.
    assert counts(school_day["teacher_b"]) == {"sessions-today": "0", "roll-calls": "0"}


def test_a_roll_call_is_not_due_before_the_session_starts_nor_for_an_empty_roster(school_day, school_x):
    from datetime import datetime

    import time_machine

    from tests.portal.conftest import SHANGHAI

    make_session(make_programme(school_day["term"], "空项目"), school_day["teacher_a"], weekday=2, start=(14, 0),
                 end=(15, 0))  # fmt: skip  # nobody enrolled
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI), tick=False):
        found = counts(school_day["teacher_a"])
    assert (found["sessions-today"], found["roll-calls"]) == ("2", "0")


# --- parent ---------------------------------------------------------------------------------------------------------


def test_a_parent_sees_their_children_their_complaints_and_applications(parent, other_parent, school_day, school_x):
    child = school_day["child"]
    AttendanceFactory(session=school_day["monday"], student=child, date=MONDAY - timedelta(days=7), mark="absent")
    AttendanceFactory(session=school_day["monday"], student=child, date=MONDAY - timedelta(days=60), mark="absent")
    BillFactory(student=child, term=school_day["term"], rate=Decimal("3.00"), lessons=10)
    other = make_student(school_x, school_day["class"], "李小红", guardian=other_parent)
    BillFactory(student=other, term=school_day["term"])
    Application.objects.create(student=child, programme=make_programme(school_day["term"]), status="waitlisted")
    ComplaintFactory(parent=parent)
    ComplaintFactory(parent=parent, status="answered", outcome="substantiated")
    ComplaintFactory(parent=other_parent)

    sections, found = home(parent)
    assert list(sections) == ["parent"]
    assert found["children"] == "1"
    assert found["children-sessions-today"] == "1"
    assert found["children-absences"] == "1"  # within 30 days
    assert found["bills-to-pay"] == "1"
    assert found["my-complaints"] == "1"  # open
    assert found["complaints-to-rate"] == "1"
    assert found["my-applications"] == "1"
    theirs = counts(other_parent)
    assert (theirs["children"], theirs["children-sessions-today"], theirs["my-complaints"]) == ("1", "0", "1")
    assert theirs["bills-to-pay"] == "1" and theirs["my-applications"] == "0"


def test_a_bill_paid_or_refunded_in_full_is_not_to_pay(parent, school_day):
    from afterschool.models import Payment, Refund, SchoolAccount

    bill = BillFactory(student=school_day["child"], term=school_day["term"], rate=Decimal("3.00"), lessons=10)
    account = SchoolAccount.objects.create(school=bill.school, bank="重庆银行", account_number="1", account_name="X")
    Payment.objects.create(bill=bill, account=account, amount=Decimal("20.00"), paid_on=TODAY)
    assert counts(parent)["bills-to-pay"] == "1"
    Refund.objects.create(bill=bill, amount=Decimal("10.00"), effective_from=TODAY, units_not_attended=1,
                          units_billed=10)  # fmt: skip
    assert counts(parent)["bills-to-pay"] == "0"


# --- institution staff ----------------------------------------------------------------------------------------------


def test_institution_staff_see_statement_requests_orders_and_proposals_of_their_institution(
    institution_staff, institution_a, inspector_a
):
    other = InstitutionFactory()
    for inst in (institution_a, other):
        c = ComplaintFactory(institution=inst)
        StatementRequest.objects.create(
            complaint=c, institution=inst, requested_by=inspector_a, question="请说明", due_on=FRIDAY
        )
        visit = InspectionFactory(institution=inst, inspectors=[inspector_a], status="complete")
        order_for(visit, status="open", by=inspector_a)
        ChangeProposal.objects.create(institution=inst, kind="course", action="create", proposed_by=inspector_a)
    StatementRequest.objects.create(
        complaint=ComplaintFactory(institution=institution_a), institution=institution_a, requested_by=inspector_a,
        question="旧事", due_on=YESTERDAY, state="answered", statement="已说明",
    )  # fmt: skip

    sections, found = home(institution_staff)
    assert list(sections) == ["institution_staff"]
    assert found == {"statements": "1", "orders-open": "1", "proposals": "1"}


# --- outside coach --------------------------------------------------------------------------------------------------


def test_an_outside_coach_sees_their_admissions_and_sessions(school_day, school_x):
    coach = make_user("陈教练", phone="13900000009")
    person = OutsidePersonFactory(user=coach)
    AdmissionFactory(person=person, applicant=coach, school=school_x, status="admitted")
    AdmissionFactory(person=OutsidePersonFactory(), applicant=coach, school=school_day["term"].school,
                     status="school_review")  # fmt: skip
    staff = OutsideStaffFactory(school=school_x, outside_person=person)
    make_programme(school_day["term"], "篮球")
    from tests.factories import SessionFactory

    SessionFactory(programme=school_day["programme"], staff=staff, weekday=2, starts_at=time(16), ends_at=time(17))
    sections, found = home(coach)
    assert list(sections) == ["outside_coach"]
    assert found == {"my-admissions": "1", "admitted": "1", "coach-sessions-today": "1"}


def test_someone_without_a_role_sees_the_outside_coachs_section():
    """An outside coach signs up without a role: their home offers their (not yet made) admission applications."""
    sections, found = home(UserFactory())
    assert list(sections) == ["outside_coach"]
    assert found == {"my-admissions": "0", "admitted": "0", "coach-sessions-today": "0"}


def test_a_parent_who_never_applied_sees_no_coach_section(parent):
    assert list(home(parent)[0]) == ["parent"]


# --- several roles --------------------------------------------------------------------------------------------------


def test_a_user_with_several_roles_sees_one_section_per_role(inspector_a, school_x):
    from tests.factories import MembershipFactory

    MembershipFactory(user=inspector_a, role=Role.PARENT)
    MembershipFactory(user=inspector_a, role=Role.TEACHER, school=school_x)
    sections, _found = home(inspector_a)
    assert list(sections) == ["inspector", "teacher", "parent"]
    assert sections["teacher"] == ["sessions-today", "roll-calls"]


def test_a_card_links_to_the_list_behind_it(inspector_a):
    html = home_html(inspector_a)
    assert 'href="/inspections/visits/?filter=today" data-testid="card-visits-today"' in html
    assert 'href="/inspections/orders/?filter=to_verify" data-testid="card-orders-to-verify"' in html


def test_the_home_asks_for_a_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]

