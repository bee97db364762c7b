"""Public answers cached a few seconds per process, and scans written in batches: a change through the services is
seen at once, and no scan is lost."""

from datetime import date

import pytest

from institutions import public_cache
from institutions.models import ScanCount
from institutions.services import institution_change_status, token_rotate
from tests.conftest import ApiClient, assert_error
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on(settings):
    settings.PUBLIC_CACHE_SECONDS = 10


def test_the_anonymous_list_is_served_from_the_cache(django_assert_num_queries):
    make_institution("甲培训")
    anon = ApiClient()
    assert anon.get("institutions").json()["count"] == 1
    with django_assert_num_queries(0):
        assert anon.get("institutions").json()["count"] == 1


def test_a_status_change_is_seen_at_once(bureau_staff):
    inst = make_institution("甲培训")
    anon = ApiClient()
    assert anon.get("institutions").json()["count"] == 1
    institution_change_status(actor=bureau_staff, institution_id=inst.pk, to_status="suspended", reason="停业整顿")
    assert anon.get("institutions").json()["count"] == 0


def test_signed_in_callers_are_never_served_from_the_public_cache(bureau_staff, api_as):
    make_institution("甲培训", status="suspended")
    assert ApiClient().get("institutions").json()["count"] == 0
    assert api_as(bureau_staff).get("institutions").json()["count"] == 1


def test_a_rotated_code_is_refused_at_once(bureau_staff):
    inst = make_institution("甲培训")
    old = inst.tokens.get().token
    anon = ApiClient()
    assert anon.get(f"verify/{old}").json()["valid"] is True
    token_rotate(actor=bureau_staff, institution_id=inst.pk, reason="海报被仿冒")
    assert anon.get(f"verify/{old}").json()["valid"] is False


def test_every_request_gets_its_own_check_time():
    inst = make_institution("甲培训")
    token = inst.tokens.get().token
    first = ApiClient().get(f"verify/{token}").json()["checked_at"]
    second = ApiClient().get(f"verify/{token}").json()["checked_at"]
    assert second >= first and first != second


def test_scans_are_counted_in_memory_then_written_together(settings):
    settings.SCAN_FLUSH_SECONDS = 3600  # the background writer will not run during the test
    inst = make_institution("甲培训")
    token = inst.tokens.get()
    for _ in range(5):
        assert ApiClient().get(f"verify/{token.token}").status_code == 200
    assert not ScanCount.objects.exists()
    assert public_cache.flush_scans() == 5
    assert ScanCount.objects.get(token=token, day=date.today()).count == 5
    ApiClient().get(f"verify/{token.token}")
    public_cache.flush_scans()
    assert ScanCount.objects.get(token=token).count == 6


def test_an_unknown_code_is_not_cached_or_counted():
    assert_error(ApiClient().get("verify/AAAAAAAAAAAAAAAAAAAAAA"), 404)
    assert not public_cache._cache.entries
    assert not ScanCount.objects.exists()
