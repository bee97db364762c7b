"""Regions are Fuling and its 27 towns, dated; memberships say where each role applies, and the database refuses a
role without its place."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from accounts import scope
from accounts.models import Membership, Region, Role
from accounts.phones import mask_phone, normalize_mainland_mobile
from accounts.selectors import regions_valid_on
from accounts.services import membership_grant
from core.errors import DomainError, PermissionDenied
from core.models import AuditEvent
from tests.conftest import DISTRICT, TOWN_A, TOWN_B, make_user, region

pytestmark = pytest.mark.django_db


def test_fuling_and_its_27_towns_are_loaded():
    district = Region.objects.get(code="500102")
    assert district.name == "涪陵区"
    towns = Region.objects.filter(parent=district)
    assert towns.count() == 27
    assert {"敦仁街道", "武陵山乡", "蔺市街道"} <= set(towns.values_list("name", flat=True))
    assert all(t.valid_from == date(2023, 6, 30) and t.valid_to is None for t in towns)


def test_a_renamed_town_keeps_its_history():
    old = region(TOWN_A)
    old.valid_to = date(2026, 12, 31)
    old.save()
    Region.objects.create(
        code=TOWN_A, name="新敦仁街道", kind="街道", parent=old.parent, valid_from=date(2027, 1, 1)
    )
    assert regions_valid_on(date(2026, 6, 1)).get(code=TOWN_A).name == "敦仁街道"
    assert regions_valid_on(date(2027, 6, 1)).get(code=TOWN_A).name == "新敦仁街道"


def test_a_district_membership_covers_every_town(bureau_staff, inspector_a):
    assert len(scope.town_ids(bureau_staff, Role.BUREAU_STAFF)) == 28
    assert scope.town_ids(inspector_a, Role.INSPECTOR) == {region(TOWN_A).pk}
    assert scope.town_ids(inspector_a, Role.BUREAU_STAFF) == set()


def test_school_scope(school_admin_x, school_x, school_y):
    assert scope.school_ids(school_admin_x) == {school_x.pk}


@pytest.mark.parametrize(
    "role, scope",
    [
        (Role.INSPECTOR, {}),  # an inspector without a region
        (Role.TEACHER, {"region": "TOWN_A"}),  # a teacher attached to a region, not a school
        (Role.PARENT, {"region": "TOWN_A"}),
        (Role.INSTITUTION_STAFF, {"school": True}),
    ],
)
def test_the_database_refuses_a_role_without_its_place(role, scope, school_x):
    user = make_user("某人")
    kwargs = {}
    if scope.get("region"):
        kwargs["region"] = region(TOWN_A)
    if scope.get("school"):
        kwargs["school_id"] = school_x.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=role, **kwargs)


def test_one_role_per_place(inspector_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=inspector_a, role=Role.INSPECTOR, region=region(TOWN_A))
    Membership.objects.create(user=inspector_a, role=Role.INSPECTOR, region=region(TOWN_B))  # another town is fine


def test_a_bureau_admin_grants_roles_and_it_is_audited(bureau_admin):
    user = make_user("新督查员")
    membership = membership_grant(actor=bureau_admin, user=user, role=Role.INSPECTOR, region=region(DISTRICT))
    assert AuditEvent.objects.filter(verb="membership.grant", object_id=str(membership.pk)).exists()
    again = membership_grant(actor=bureau_admin, user=user, role=Role.INSPECTOR, region=region(DISTRICT))
    assert again.pk == membership.pk


def test_others_cannot_grant_roles(bureau_staff):
    user = make_user("某人")
    with pytest.raises(PermissionDenied):
        membership_grant(actor=bureau_staff, user=user, role=Role.BUREAU_ADMIN, region=region(DISTRICT))


def test_grant_refuses_a_mismatched_scope(bureau_admin, school_x):
    with pytest.raises(DomainError) as refused:
        membership_grant(actor=bureau_admin, user=make_user("某人"), role=Role.INSPECTOR, school_id=school_x.pk)
    assert refused.value.code == "membership.scope_mismatch"


@pytest.mark.parametrize(
    "raw, expected",
    [("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"), ("0086-13800138000", "13800138000"),
     ("19912345678", "19912345678"), ("12800138000", None), ("1380013800", None), ("", None), ("电话", None)],
)
def test_mainland_mobile_numbers(raw, expected):
    assert normalize_mainland_mobile(raw) == expected


def test_phones_are_masked_in_lists():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone(None) == ""
