"""The lists behind the home's cards: each shows what its card counts, scoped like the API (another's object absent),
paginated, with a way back; someone without the role gets 404, someone signed out the sign-in page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from accounts.models import Role
from afterschool.models import Application
from institutions.models import ChangeProposal
from supervision.models import StatementRequest
from tests.afterschool.conftest import enrol, make_programme, make_session, make_student
from tests.conftest import TOWN_A, TOWN_B, make_user
from tests.factories import (
    AdmissionFactory,
    ComplaintFactory,
    InspectionFactory,
    InstitutionFactory,
    SchoolClassFactory,
    TermFactory,
    region,
)
from tests.portal.conftest import TODAY, client_for, counts
from tests.portal.test_home import order_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_afternoon")]

ROW = re.compile(r'data-testid="row-([\d-]+)"')


def rows(user, url) -> list[str]:
    response = client_for(user).get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert 'data-testid="back-home"' in html and 'href="/"' in html
    return ROW.findall(html)


def status(user, url) -> int:
    return client_for(user).get(url).status_code


@pytest.fixture
def handler_a(db):
    return make_user("承办人甲", Role.BUREAU_STAFF, region=region(TOWN_A))


@pytest.fixture
def teacher(school_x):
    return make_user("王老师", Role.TEACHER, school=school_x)


# --- complaints -----------------------------------------------------------------------------------------------------


def test_the_handler_lists_match_their_cards_and_stay_in_their_towns(handler_a, parent, teacher):
    yesterday = TODAY - timedelta(days=1)
    mine = ComplaintFactory(status="accepted", sla_due_on=yesterday, handler=handler_a)
    queue = ComplaintFactory(status="submitted")
    elsewhere = ComplaintFactory(
        status="accepted", sla_due_on=yesterday, institution=InstitutionFactory(town=region(TOWN_B))
    )
    assert rows(handler_a, "/complaints/?filter=overdue") == [str(mine.pk)]
    assert rows(handler_a, "/complaints/?filter=to_accept") == [str(queue.pk)]
    assert str(elsewhere.pk) not in rows(handler_a, "/complaints/?filter=open")
    assert counts(handler_a)["complaints-overdue"] == "1"
    # Not a handler: 404, whatever the slice; an unknown slice: 404.
    assert status(parent, "/complaints/?filter=overdue") == 404
    assert status(teacher, "/complaints/?filter=to_accept") == 404
    assert status(handler_a, "/complaints/?filter=everything") == 404


def test_a_parent_finds_their_complaints_again(parent, other_parent, teacher, client):
    own = ComplaintFactory(parent=parent)
    other = ComplaintFactory(parent=other_parent)
    listed = rows(parent, "/complaints/?filter=mine")
    assert listed == [str(own.pk)] and str(other.pk) not in listed
    assert rows(parent, "/complaints/") == [str(own.pk)]  # a parent's default slice
    assert f'href="/complaints/{own.pk}/"' in client_for(parent).get("/complaints/").content.decode()
    answered = ComplaintFactory(parent=parent, status="answered", outcome="substantiated")
    assert rows(parent, "/complaints/?filter=mine_open") == [str(own.pk)]  # the card's list: open ones
    assert rows(parent, "/complaints/?filter=to_rate") == [str(answered.pk)]
    assert set(rows(parent, "/complaints/?filter=mine")) == {str(own.pk), str(answered.pk)}
    assert 'href="?filter=mine"' in client_for(parent).get("/complaints/?filter=mine_open").content.decode()
    assert status(teacher, "/complaints/?filter=mine") == 404  # not a parent
    response = client.get("/complaints/?filter=mine")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_list_is_paginated(parent):
    for _ in range(51):
        ComplaintFactory(parent=parent)
    first = client_for(parent).get("/complaints/?filter=mine").content.decode()
    assert len(ROW.findall(first)) == 50 and "filter=mine&amp;page=2" in first
    assert len(rows(parent, "/complaints/?filter=mine&page=2")) == 1


def test_institution_staff_list_their_statement_requests_only(institution_staff, institution_a, inspector_a, parent):
    own = StatementRequest.objects.create(
        complaint=ComplaintFactory(institution=institution_a), institution=institution_a, requested_by=inspector_a,
        question="请说明", due_on=TODAY,
    )  # fmt: skip
    other_inst = InstitutionFactory()
    StatementRequest.objects.create(
        complaint=ComplaintFactory(institution=other_inst), institution=other_inst, requested_by=inspector_a,
        question="请说明", due_on=TODAY,
    )  # fmt: skip
    assert rows(institution_staff, "/complaints/statements/") == [str(own.pk)]
    assert rows(institution_staff, "/complaints/statements/?filter=answered") == []
    assert status(parent, "/complaints/statements/") == 404


# --- inspections ----------------------------------------------------------------------------------------------------


def test_an_inspector_lists_their_own_visits_and_orders(inspector_a, inspector_b, parent, institution_staff):
    today = InspectionFactory(inspectors=[inspector_a], due_by=TODAY)
    theirs = InspectionFactory(inspectors=[inspector_b], due_by=TODAY)
    assert rows(inspector_a, "/inspections/visits/?filter=today") == [str(today.pk)]
    assert rows(inspector_b, "/inspections/visits/?filter=today") == [str(theirs.pk)]
    assert rows(inspector_a, "/inspections/visits/?filter=week") == [str(today.pk)]
    assert status(parent, "/inspections/visits/?filter=today") == 404
    assert status(institution_staff, "/inspections/visits/") == 404

    done = InspectionFactory(inspectors=[inspector_a], status="complete")
    to_verify = order_for(done, status="answered", by=inspector_a)
    other = order_for(InspectionFactory(inspectors=[inspector_b]), status="answered", by=inspector_b)
    assert rows(inspector_a, "/inspections/orders/?filter=to_verify") == [str(to_verify.pk)]
    assert str(other.pk) not in rows(inspector_a, "/inspections/orders/?filter=to_verify")
    assert status(parent, "/inspections/orders/?filter=to_verify") == 404


def test_institution_staff_list_their_own_rectification_orders(institution_staff, institution_a, inspector_a):
    own = order_for(InspectionFactory(institution=institution_a, inspectors=[inspector_a]), status="open",
                    by=inspector_a)  # fmt: skip
    order_for(InspectionFactory(inspectors=[inspector_a]), status="open", by=inspector_a)  # another institution
    assert rows(institution_staff, "/inspections/orders/") == [str(own.pk)]  # their default: open
    assert rows(institution_staff, "/inspections/orders/?filter=open") == [str(own.pk)]


# --- registry -------------------------------------------------------------------------------------------------------


def test_licences_expiring_are_listed_for_the_bureau_of_the_town(handler_a, bureau_admin, parent, institution_staff):
    soon = InstitutionFactory(licence_expires_on=TODAY + timedelta(days=7))
    far = InstitutionFactory(town=region(TOWN_B), licence_expires_on=TODAY + timedelta(days=7))
    assert rows(handler_a, "/registry/expiring/") == [str(soon.pk)]
    assert set(rows(bureau_admin, "/registry/expiring/")) == {str(soon.pk), str(far.pk)}
    assert status(parent, "/registry/expiring/") == 404
    assert status(institution_staff, "/registry/expiring/") == 404


def test_change_proposals_waiting_are_listed_for_their_institution(institution_staff, institution_a, inspector_a,
                                                                   parent):  # fmt: skip
    own = ChangeProposal.objects.create(institution=institution_a, kind="course", action="create",
                                        proposed_by=institution_staff, after={"name": "书法"})  # fmt: skip
    ChangeProposal.objects.create(institution=InstitutionFactory(), kind="course", action="create",
                                  proposed_by=inspector_a)  # fmt: skip
    assert rows(institution_staff, "/registry/proposals/") == [str(own.pk)]
    assert status(parent, "/registry/proposals/") == 404
    assert status(inspector_a, "/registry/proposals/") == 404  # inspectors do not review changes


# --- afterschool ----------------------------------------------------------------------------------------------------


def test_admissions_expiring_are_listed_for_the_schools_admins(school_admin_x, school_admin_y, school_x, parent):
    soon = AdmissionFactory(school=school_x, status="admitted", valid_from=date(2026, 9, 1),
                            valid_until=TODAY + timedelta(days=10))  # fmt: skip
    assert rows(school_admin_x, "/afterschool/admissions/expiring/") == [str(soon.pk)]
    assert rows(school_admin_y, "/afterschool/admissions/expiring/") == []
    assert status(parent, "/afterschool/admissions/expiring/") == 404


@pytest.fixture
def wednesday_session(school_x, teacher, parent):
    term = TermFactory(school=school_x)
    klass = SchoolClassFactory(school=school_x, class_teacher=teacher)
    programme = make_programme(term, "阅读社")
    session = make_session(programme, teacher, weekday=2)
    enrol(make_student(school_x, klass, guardian=parent), programme)
    return session


def test_sessions_and_roll_calls_are_listed_for_who_runs_them(wednesday_session, teacher, school_admin_x,
                                                             school_admin_y, parent):  # fmt: skip
    key = f"{wednesday_session.pk}-{TODAY:%Y%m%d}"
    assert rows(teacher, "/afterschool/sessions/?filter=today") == [key]
    assert rows(teacher, "/afterschool/sessions/?filter=roll_calls") == [key]
    assert rows(school_admin_x, "/afterschool/sessions/?filter=school_gaps") == [key]
    assert rows(school_admin_y, "/afterschool/sessions/?filter=school_today") == []
    assert status(teacher, "/afterschool/sessions/?filter=school_gaps") == 404  # not an admin
    assert status(school_admin_x, "/afterschool/sessions/?filter=today") == 404  # delivers nothing
    assert status(parent, "/afterschool/sessions/?filter=today") == 404


def test_applications_to_decide_are_listed_for_the_class_teacher_and_the_admins(
    wednesday_session, teacher, school_admin_x, school_admin_y, parent, school_x
):
    klass = SchoolClassFactory(school=school_x, class_teacher=teacher)
    pending = Application.objects.create(
        student=make_student(school_x, klass), programme=wednesday_session.programme, status="pending"
    )
    assert rows(teacher, "/afterschool/applications/") == [str(pending.pk)]
    assert rows(school_admin_x, "/afterschool/applications/") == [str(pending.pk)]
    assert rows(school_admin_y, "/afterschool/applications/") == []
    assert status(parent, "/afterschool/applications/") == 404
