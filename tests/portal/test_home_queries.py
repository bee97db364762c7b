"""A home page costs a fixed number of queries whatever the data: each role's home with a little data and with a
lot more costs the same (the counts are conditional aggregates, one query per table)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from afterschool.models import Application
from institutions.models import ChangeProposal
from supervision.models import StatementRequest
from tests.afterschool.conftest import enrol, make_programme, make_session, make_student
from tests.conftest import TOWN_A, make_user
from tests.factories import (
    AdmissionFactory,
    AttendanceFactory,
    BillFactory,
    ComplaintFactory,
    ExemptionFactory,
    InspectionFactory,
    InstitutionFactory,
    SchoolClassFactory,
    TermFactory,
    region,
)
from tests.portal.conftest import TODAY, client_for
from tests.portal.test_home import order_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_afternoon")]

MAX_QUERIES = 15  # session, user, memberships and every count of the busiest home (inspector + parent: 13)


def home_queries(user, django_assert_max_num_queries) -> int:
    client = client_for(user)
    assert client.get("/").status_code == 200  # warms the per-process caches (regions, calendar, categories)
    with django_assert_max_num_queries(MAX_QUERIES), CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    return len(ctx.captured_queries)


def assert_same_cost(user, grow, django_assert_max_num_queries):
    small = home_queries(user, django_assert_max_num_queries)
    grow()
    large = home_queries(user, django_assert_max_num_queries)
    assert large == small, f"{small} queries with a little data, {large} with more"


def test_a_handlers_home(django_assert_max_num_queries):
    handler = make_user("承办人", Role.BUREAU_STAFF, region=region(TOWN_A))
    institution = InstitutionFactory()
    ComplaintFactory(institution=institution, handler=handler, status="accepted", sla_due_on=TODAY)

    def grow():
        for i in range(60):
            ComplaintFactory(institution=institution, handler=handler if i % 2 else None,
                             status=("submitted", "accepted", "investigating")[i % 3],
                             sla_due_on=TODAY + timedelta(days=i % 5 - 2))  # fmt: skip
        InstitutionFactory.create_batch(5, licence_expires_on=TODAY + timedelta(days=10))

    assert_same_cost(handler, grow, django_assert_max_num_queries)


def test_an_inspectors_home(inspector_a, django_assert_max_num_queries):
    InspectionFactory(inspectors=[inspector_a], due_by=TODAY)

    def grow():
        for i in range(20):
            visit = InspectionFactory(inspectors=[inspector_a], due_by=TODAY + timedelta(days=i % 7 - 2),
                                      status=("assigned", "in_progress", "complete")[i % 3])  # fmt: skip
            order_for(visit, status=("open", "answered")[i % 2], by=inspector_a)

    assert_same_cost(inspector_a, grow, django_assert_max_num_queries)


@pytest.fixture
def school(school_x, parent):
    term = TermFactory(school=school_x)
    teacher = make_user("王老师", Role.TEACHER, school=school_x)
    klass = SchoolClassFactory(school=school_x, class_teacher=teacher)
    programme = make_programme(term, "阅读社")
    session = make_session(programme, teacher, weekday=2)
    children = [make_student(school_x, klass, f"孩子{i}", guardian=parent) for i in range(3)]
    for child in children:
        enrol(child, programme)
    return {"term": term, "teacher": teacher, "class": klass, "programme": programme, "session": session,
            "children": children}  # fmt: skip


def _grow_school(school, parent):
    term, klass, teacher = school["term"], school["class"], school["teacher"]
    for i in range(12):
        programme = make_programme(term, f"项目{i}")
        session = make_session(programme, teacher, weekday=i % 5, start=(16 + i % 2, 0), end=(17 + i % 2, 0))
        for child in school["children"]:
            enrol(child, programme)
            AttendanceFactory(session=session, student=child, date=TODAY - timedelta(days=i + 1),
                              mark=("absent", "present")[i % 2])  # fmt: skip
        pupil = make_student(term.school, klass)
        Application.objects.create(student=pupil, programme=programme, status="pending")
        ExemptionFactory(student=pupil, term=term)
        AdmissionFactory(school=term.school, status="admitted", valid_until=TODAY + timedelta(days=i + 1))
    for child in school["children"]:
        BillFactory(student=child, term=term)
        ComplaintFactory(parent=parent)


def test_a_parents_home_with_three_children(parent, school, django_assert_max_num_queries):
    assert_same_cost(parent, lambda: _grow_school(school, parent), django_assert_max_num_queries)


def test_a_school_admins_home(school_admin_x, school, parent, django_assert_max_num_queries):
    assert_same_cost(school_admin_x, lambda: _grow_school(school, parent), django_assert_max_num_queries)


def test_a_teachers_home(school, parent, django_assert_max_num_queries):
    assert_same_cost(school["teacher"], lambda: _grow_school(school, parent), django_assert_max_num_queries)


def test_institution_staffs_home(institution_staff, institution_a, inspector_a, django_assert_max_num_queries):
    def grow():
        for _ in range(15):
            StatementRequest.objects.create(
                complaint=ComplaintFactory(institution=institution_a), institution=institution_a,
                requested_by=inspector_a, question="请说明", due_on=TODAY,
            )  # fmt: skip
            order_for(InspectionFactory(institution=institution_a, inspectors=[inspector_a]), status="open",
                      by=inspector_a)  # fmt: skip
            ChangeProposal.objects.create(institution=institution_a, kind="course", action="create",
                                          proposed_by=inspector_a)  # fmt: skip

    assert_same_cost(institution_staff, grow, django_assert_max_num_queries)


def test_a_user_with_several_roles_pays_each_domain_once(inspector_a, school, django_assert_max_num_queries):
    from tests.factories import MembershipFactory

    MembershipFactory(user=inspector_a, role=Role.PARENT)
    school["children"][0].guardians.add(inspector_a)
    InspectionFactory(inspectors=[inspector_a], due_by=TODAY)
    assert_same_cost(inspector_a, lambda: _grow_school(school, inspector_a), django_assert_max_num_queries)
