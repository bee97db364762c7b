"""Identity knows no domain in its schema: a membership names its school or institution by id. The apps that own the
places answer their names (one query per kind, however many memberships) and refuse to delete a place a membership
names, as the foreign keys' PROTECT did."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import authcache, places, scope
from accounts.models import Membership, Role
from accounts.selectors import memberships_of, with_places
from accounts.services import membership_grant
from afterschool.models import School
from core.errors import DomainError
from institutions.models import Institution
from tests.conftest import PASSWORD, TOWN_A, ApiClient, login_tokens, make_user, region
from tests.factories import InstitutionFactory, MembershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db


def test_a_membership_has_no_foreign_key_to_a_domain_model():
    related = {f.name: f.related_model._meta.app_label for f in Membership._meta.get_fields() if f.is_relation}
    assert related == {"user": "accounts", "region": "accounts"}
    for name in ("school_id", "institution_id"):
        field = Membership._meta.get_field(name)
        assert not field.is_relation and field.db_index and field.null
        assert field.column == name  # the column the foreign key had: no data moved


@pytest.mark.parametrize("active", [True, False])
def test_a_school_a_membership_names_cannot_be_deleted(school_admin_x, school_x, active):
    school_admin_x.memberships.update(is_active=active)
    with pytest.raises(ProtectedError):
        school_x.delete()
    with pytest.raises(ProtectedError):
        School.objects.filter(pk=school_x.pk).delete()
    assert School.objects.filter(pk=school_x.pk).exists()


@pytest.mark.parametrize("active", [True, False])
def test_an_institution_a_membership_names_cannot_be_deleted(institution_staff, institution_a, active):
    institution_staff.memberships.update(is_active=active)
    with pytest.raises(ProtectedError):
        institution_a.delete()
    assert Institution.objects.filter(pk=institution_a.pk).exists()


def test_a_place_no_membership_names_is_deleted(school_admin_x, institution_staff):
    lone_school = SchoolFactory(name="无人学校")
    lone_school.delete()
    assert not School.objects.filter(name="无人学校").exists()
    lone = InstitutionFactory(name="无人机构")
    Institution.objects.filter(pk=lone.pk).delete()
    assert not Institution.objects.filter(pk=lone.pk).exists()


def test_the_admin_delete_page_lists_the_memberships_that_protect_a_school(admin_client, school_admin_x, school_x):
    page = admin_client.get(f"/admin/afterschool/school/{school_x.pk}/delete/")
    assert page.status_code == 200 and page.context["protected"]
    assert admin_client.post(f"/admin/afterschool/school/{school_x.pk}/delete/", {"post": "yes"}).status_code == 200
    assert School.objects.filter(pk=school_x.pk).exists()


def _many_places_user(schools: int, institutions: int):
    user = make_user("多处任职")
    for _ in range(schools):
        MembershipFactory(user=user, role=Role.TEACHER, school=SchoolFactory())
    for _ in range(institutions):
        MembershipFactory(user=user, role=Role.INSTITUTION_STAFF, institution=InstitutionFactory())
    return user


def test_places_are_named_in_one_query_per_kind(django_assert_num_queries):
    user = _many_places_user(4, 3)
    memberships = memberships_of(user)
    with django_assert_num_queries(2):
        placed = with_places(memberships)
    names = {p.place_name for p in placed}
    assert len(placed) == 7 and "" not in names
    assert names == set(School.objects.values_list("name", flat=True)) | set(
        Institution.objects.filter(pk__in=[m.institution_id for m in memberships if m.institution_id]).values_list(
            "name", flat=True
        )
    )


def test_regions_and_parents_cost_no_place_query(inspector_a, parent, django_assert_num_queries):
    names = {}
    for user in (inspector_a, parent):
        memberships = memberships_of(user)
        with django_assert_num_queries(0):
            names[user.name] = [p.place_name for p in with_places(memberships)]
    assert names == {inspector_a.name: [region(TOWN_A).name], parent.name: [""]}


def _home_queries(user) -> tuple[int, str]:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/")
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_the_home_page_names_every_place_with_as_many_queries_for_two_memberships_as_for_seven():
    """A teacher of one school who is also staff of one institution, then of four schools and three institutions:
    the home page (a section per role) names every place at the same cost."""
    two, page = _home_queries(_many_places_user(1, 1))
    user = _many_places_user(4, 3)
    seven, page = _home_queries(user)
    names = School.objects.filter(pk__in=scope.school_ids(user)).values_list("name", flat=True)
    assert len(names) == 4 and all(name in page for name in names)
    assert seven == two  # not one query per membership


def test_me_names_the_school_and_the_institution(school_admin_x, institution_staff):
    body = ApiClient(login_tokens(school_admin_x)["access"]).get("me").json()
    assert body["memberships"][0]["school"]["name"] == "X 小学"
    body = ApiClient(login_tokens(institution_staff)["access"]).get("me").json()
    assert body["memberships"][0]["institution"]["name"] == "A 培训学校"


def test_a_grant_names_a_place_that_exists(bureau_admin, school_x):
    user = make_user("新教师")
    with pytest.raises(DomainError) as refused:
        membership_grant(actor=bureau_admin, user=user, role=Role.TEACHER, school_id=school_x.pk + 1000)
    assert refused.value.code == "membership.unknown_place"
    granted = membership_grant(actor=bureau_admin, user=user, role=Role.TEACHER, school_id=school_x.pk)
    assert granted.school_id == school_x.pk and places.names(places.SCHOOL, {school_x.pk}) == {school_x.pk: "X 小学"}


def test_a_cached_sign_in_of_another_shape_is_a_miss(settings, school_admin_x):
    settings.AUTH_CACHE_SECONDS = 120
    session = login_tokens(school_admin_x)["session"]
    token_hash = "0" * 64
    authcache.put(token_hash, school_admin_x, session, timezone.now() + timedelta(minutes=5))
    entry = cache.get(authcache.KEY.format(token_hash))
    assert entry["format"] == authcache.FORMAT and authcache.get(token_hash) is not None
    older = {k: v for k, v in entry.items() if k != "format"}  # what the release before this one wrote
    cache.set(authcache.KEY.format(token_hash), older, 60)
    authcache._local.drop("*")
    assert authcache.get(token_hash) is None
