"""accounts.scope: the one answer to who covers which towns, schools and institutions, and who covers a place."""

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import scope
from accounts.models import Region, Role
from tests.conftest import DISTRICT, TOWN_A, TOWN_B, make_user, region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_tree():
    scope.clear_caches()
    yield
    scope.clear_caches()


def test_a_district_membership_covers_every_town_under_it(bureau_staff):
    towns = set(Region.objects.filter(parent=region(DISTRICT)).values_list("pk", flat=True))
    covered = scope.town_ids(bureau_staff)
    assert towns and towns <= covered
    assert region(DISTRICT).pk in covered


def test_a_town_membership_covers_that_town_only():
    staff_a = make_user("镇街科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    assert scope.town_ids(staff_a) == {region(TOWN_A).pk}
    assert scope.covers_town(staff_a, region(TOWN_A).pk)
    assert not scope.covers_town(staff_a, region(TOWN_B).pk)
    assert not scope.covers_town(staff_a, None)


def test_roles_decide_what_is_covered(inspector_a):
    assert scope.town_ids(inspector_a) == set()  # not a bureau role
    assert scope.town_ids(inspector_a, Role.INSPECTOR) == {region(TOWN_A).pk}


def test_nobody_signed_in_covers_nothing():
    anonymous = AnonymousUser()
    assert scope.town_ids(anonymous) == set()
    assert scope.school_ids(anonymous) == set()
    assert scope.institution_ids(anonymous) == set()
    assert scope.roles(anonymous) == set()


def test_schools_and_institutions_come_from_their_memberships(school_admin_x, school_x, school_y, institution_staff):
    teacher = make_user("老师", Role.TEACHER, school=school_y)
    assert scope.school_ids(school_admin_x) == {school_x.pk}
    assert scope.school_ids(school_admin_x, Role.TEACHER) == set()
    assert scope.school_ids(teacher) == {school_y.pk}
    assert scope.institution_ids(institution_staff) == {institution_staff.memberships.get().institution_id}
    assert scope.institution_ids(school_admin_x) == set()


def test_who_covers_a_town_is_its_own_bureau_and_the_districts(bureau_staff):
    staff_a = make_user("A 镇科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    staff_b = make_user("B 镇科员", Role.BUREAU_STAFF, region=region(TOWN_B))
    make_user("督查员", Role.INSPECTOR, region=region(TOWN_A))
    covering = scope.users_covering_town(region(TOWN_A).pk)
    assert covering == sorted([bureau_staff.pk, staff_a.pk])
    assert staff_b.pk not in covering


def test_an_inactive_membership_covers_nothing_for_the_reverse_question():
    staff_a = make_user("A 镇科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    staff_a.memberships.update(is_active=False)
    assert staff_a.pk not in scope.users_covering_town(region(TOWN_A).pk)


def test_who_works_for_a_school_and_an_institution(school_admin_x, school_x, institution_staff, institution_a):
    teacher = make_user("老师", Role.TEACHER, school=school_x)
    assert scope.users_of_school(school_x.pk) == sorted([school_admin_x.pk, teacher.pk])
    assert scope.users_of_school(school_x.pk, Role.SCHOOL_ADMIN) == [school_admin_x.pk]
    assert scope.users_of_institution(institution_a.pk) == [institution_staff.pk]


def test_regions_above_a_town_are_the_town_then_its_district():
    assert scope.regions_above(region(TOWN_A).pk) == [region(TOWN_A).pk, region(DISTRICT).pk]


def test_covered_towns_cost_no_query_once_memberships_and_the_tree_are_read(bureau_staff, django_assert_num_queries):
    town_a = region(TOWN_A).pk
    scope.town_ids(bureau_staff)
    with django_assert_num_queries(0):
        assert scope.covers_town(bureau_staff, town_a)


def test_bureau_is_staff_or_admin_of_any_town(bureau_staff, inspector_a, school_admin_x):
    assert scope.is_bureau(bureau_staff)
    assert not scope.is_bureau(inspector_a)
    assert not scope.is_bureau(school_admin_x)
    assert not scope.is_bureau(AnonymousUser())


def test_region_names_come_from_the_same_tree_and_a_new_region_is_found():
    assert scope.region_name(region(TOWN_A).pk) == region(TOWN_A).name
    new = Region.objects.create(
        code="500102999", name="新设镇", kind="镇", parent=region(DISTRICT), valid_from=date(2027, 1, 1)
    )
    assert scope.region_name(new.pk) == "新设镇"
    assert scope.region_name(-1) == ""


def test_regions_under_a_region_made_since_the_tree_was_read():
    scope.regions_under([region(DISTRICT).pk])
    new = Region.objects.create(
        code="500102998", name="新设乡", kind="乡", parent=region(DISTRICT), valid_from=date(2027, 1, 1)
    )
    assert scope.regions_under([new.pk]) == {new.pk}
