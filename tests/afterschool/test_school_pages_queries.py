"""The school admin's pages cost the same queries whatever the size of the school: the timetable editor and its
inline check with 20 or 200 sessions a week, the applications page of a term with 100 or 2,000 applications."""

from datetime import time

import pytest
from django.test import Client
from django.urls import reverse

from afterschool.schedule.models import Application, Programme, Session, Staff
from tests.afterschool.test_query_counts import build_school, count_queries

pytestmark = pytest.mark.django_db


def _web(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_timetable_editor_and_its_check_cost_the_same_for_20_and_200_sessions(term_x, school_admin_x):
    build_school(term_x, 20, 40)
    web = _web(school_admin_x)
    school = term_x.school
    page = reverse("school-timetable-edit", args=(school.pk, term_x.pk))
    check = reverse("school-timetable-check", args=(school.pk, term_x.pk))
    new = Programme.objects.create(
        school=school, term=term_x, name="新项目", kind="arts", grade_min=1, grade_max=6, capacity=9
    )
    teacher = Staff.objects.first().user
    params = {"programme": new.pk, "weekdays": ["0", "2"], "starts_at": "18:00", "ends_at": "19:00",
              "staff": f"t{teacher.pk}"}  # fmt: skip
    few_page = count_queries(lambda: web.get(page))
    few_check = count_queries(lambda: web.get(check, params))
    more = Programme.objects.create(
        school=school, term=term_x, name="加课", kind="arts", grade_min=1, grade_max=6, capacity=9
    )
    staff = list(Staff.objects.all())
    Session.objects.bulk_create(
        Session(programme=more, school=school, weekday=i % 5, starts_at=time(16, 0), ends_at=time(17, 0),
                staff=staff[i % len(staff)], first_date=term_x.starts_on, last_date=term_x.ends_on)
        for i in range(180)
    )  # fmt: skip
    assert Session.objects.filter(school=school).count() == 200
    assert count_queries(lambda: web.get(page)) == few_page
    assert count_queries(lambda: web.get(check, params)) == few_check


def test_the_applications_page_costs_the_same_for_100_and_2000_applications(term_x, school_admin_x):
    _t, _s, students = build_school(term_x, 10, 4000)  # half of them enrolled: 2,000 applications
    web = _web(school_admin_x)
    url = reverse("school-applications", args=(term_x.school_id,))
    Application.objects.filter(pk__in=list(Application.objects.values_list("pk", flat=True)[100:])).delete()
    few = count_queries(lambda: web.get(url, {"term": term_x.pk}))
    programmes = list(Programme.objects.filter(term=term_x))
    Application.objects.bulk_create(
        Application(student=s, programme=programmes[i % len(programmes)], status="pending")
        for i, s in enumerate(students[2000:3900])
    )
    assert Application.objects.filter(programme__term=term_x).count() == 2000
    assert count_queries(lambda: web.get(url, {"term": term_x.pk})) == few
    assert count_queries(lambda: web.get(url, {"term": term_x.pk, "page": 30})) == few
