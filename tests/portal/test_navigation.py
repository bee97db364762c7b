"""The menu of each role (portal/navigation.py): the pages that role uses, home first and the inbox a phone tab; a
person with several roles sees the union, each page once; the phone shows four tabs and "更多"."""

import pytest
from django.urls import resolve

from accounts.models import Role
from portal.navigation import menu_for, menu_items, menu_roles, split_for_tabs
from tests.conftest import DISTRICT, TOWN_A, make_user
from tests.factories import MembershipFactory, region

pytestmark = pytest.mark.django_db


def keys(user) -> list[str]:
    return [e.key for e in menu_for(user)]


def test_a_parent_sees_children_complaints_and_the_inbox_as_tabs(parent):
    assert keys(parent)[:4] == ["home", "my-children", "my-complaints", "notifications"]
    assert {"complaint-new", "registry", "inspection-results", "third-parties"} <= set(keys(parent))
    assert "admission-queue" not in keys(parent) and "coverage" not in keys(parent)


def test_bureau_staff_see_the_registry_reviews_and_coverage(bureau_staff):
    k = keys(bureau_staff)
    assert k[0] == "home" and "notifications" in k[:4]
    assert {"registry", "admission-queue", "coverage", "afterschool", "fees"} <= set(k)
    assert "my-children" not in k and "complaint-new" not in k


def test_an_inspector_sees_the_registry_and_the_results(inspector_a):
    assert set(keys(inspector_a)) == {
        "home", "notifications", "inspector-app", "registry", "inspection-results", "third-parties"
    }


def test_school_roles_lead_to_their_own_schools_timetable(school_x, school_admin_x):
    teacher = make_user("王老师", Role.TEACHER, school=school_x)
    assert keys(teacher)[1] == f"timetable-{school_x.pk}"
    assert [e.url for e in menu_for(teacher)][1] == f"/afterschool/schools/{school_x.pk}/timetable/"
    assert "admission-queue" not in keys(teacher)
    assert {f"timetable-{school_x.pk}", "admission-queue", "fees", "afterschool"} <= set(keys(school_admin_x))


def test_institution_staff_and_an_outside_coach_apply_for_admission(institution_staff):
    assert {"registry", "admissions", "admission-new"} <= set(keys(institution_staff))
    coach = make_user("校外教练")  # signed up, holds no role
    assert menu_roles(coach) == ["outside_coach"]
    assert keys(coach) == ["home", "coach", "admissions", "notifications", "admission-new"]


def test_several_roles_see_the_union_without_duplicates(school_x):
    user = make_user("身兼数职", Role.BUREAU_STAFF, region=region(DISTRICT))
    MembershipFactory(user=user, role=Role.PARENT)
    MembershipFactory(user=user, role=Role.INSPECTOR, region=region(TOWN_A))
    MembershipFactory(user=user, role=Role.TEACHER, school=school_x)
    k = keys(user)
    assert len(k) == len(set(k))
    assert {"admission-queue", "coverage", "my-children", "complaint-new", f"timetable-{school_x.pk}"} <= set(k)
    assert k.count("registry") == 1
    assert menu_roles(user) == [Role.BUREAU_STAFF, Role.INSPECTOR, Role.TEACHER, Role.PARENT]


def test_every_entry_resolves_to_a_page(parent, bureau_admin, institution_staff, school_admin_x, inspector_a):
    for user in (parent, bureau_admin, institution_staff, school_admin_x, inspector_a, make_user("教练")):
        for entry in menu_for(user):
            assert resolve(entry.url).url_name == entry.url_name


def test_the_current_page_is_marked_once(parent):
    items = menu_items(parent, resolve("/afterschool/children/"))
    assert [i.key for i in items if i.current] == ["my-children"]
    items = menu_items(parent, resolve("/complaints/12/"))  # a complaint's page: under the parent's complaints
    assert [i.key for i in items if i.current] == ["my-complaints"]
    assert not any(i.current for i in menu_items(parent, resolve("/login/")))


def test_the_phone_shows_at_most_four_tabs_and_the_rest_under_more(bureau_admin):
    tabs, more = split_for_tabs(menu_items(bureau_admin))
    assert len(tabs) == 4 and len(more) >= 3
    assert [i.key for i in tabs + more] == [e.key for e in menu_for(bureau_admin)]


def test_nobody_signed_in_has_no_menu():
    from django.contrib.auth.models import AnonymousUser

    assert menu_for(AnonymousUser()) == [] and menu_roles(AnonymousUser()) == []


def test_labels_follow_the_language(parent):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(menu_for(parent)[0].label) == "首页"


def test_a_teacher_of_two_schools_gets_each_timetable_by_name(school_x, school_y):
    teacher = make_user("两校老师", Role.TEACHER, school=school_x)
    MembershipFactory(user=teacher, role=Role.TEACHER, school=school_y)
    labels = [str(e.label) for e in menu_for(teacher) if e.url_name == "afterschool-timetable"]
    assert sorted(labels) == sorted([f"课表 · {school_x.name}", f"课表 · {school_y.name}"])
