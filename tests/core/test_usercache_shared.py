"""Keys many pages read (the complaints' and the registry's generations) come in the same round trip as the signed-in
person's kept counts (core.usercache.shared), and a request that changes one reads it afresh."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches

from accounts.models import Role
from core import usercache
from institutions import public_cache
from supervision.complaints import cache as complaint_cache
from tests.conftest import TOWN_A, make_user, region

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    """Every read of the default cache: ("get", key) or ("get_many", keys)."""
    seen: list[tuple[str, object]] = []
    backend = caches["default"]
    get, get_many = backend.get, backend.get_many
    inside = []  # the local-memory cache's get_many calls get per key: those are not round trips

    def spy_get(key, *args, **kwargs):
        if not inside:
            seen.append(("get", key))
        return get(key, *args, **kwargs)

    def spy_get_many(keys, *args, **kwargs):
        seen.append(("get_many", list(keys)))
        inside.append(True)
        try:
            return get_many(keys, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(backend, "get", spy_get)
    monkeypatch.setattr(backend, "get_many", spy_get_many)
    return seen


@pytest.mark.parametrize(
    ("path", "kept_setting", "generations"),
    [
        ("/desk/", "COMPLAINT_LIST_CACHE_SECONDS", {complaint_cache.GENERATION_KEY}),
        (
            "/console/registry/",
            "REGISTRY_LIST_CACHE_SECONDS",
            {public_cache.GENERATION_KEY, complaint_cache.GENERATION_KEY},
        ),
    ],
)
def test_a_page_with_kept_markup_reads_its_generations_with_the_persons_counts(
    settings, reads, client, path, kept_setting, generations
):
    settings.USER_CACHE_SECONDS = 30
    setattr(settings, kept_setting, 10)
    staff = make_user("办件人", Role.BUREAU_STAFF, region=region(TOWN_A))
    client.force_login(staff)
    assert client.get(path).status_code == 200
    reads.clear()
    assert client.get(path).status_code == 200
    together = [keys for kind, keys in reads if kind == "get_many" and generations <= set(keys)]
    assert len(together) == 1 and f"user:{staff.pk}:unread" in together[0]
    assert not [key for kind, key in reads if kind == "get" and key in generations]


def test_a_request_that_changes_a_generation_reads_the_new_one():
    token = usercache._read.set({"request": None})
    try:
        cache.set(complaint_cache.GENERATION_KEY, "before", timeout=None)
        assert complaint_cache.generation() == "before"
        cache.set(complaint_cache.GENERATION_KEY, "elsewhere", timeout=None)
        assert complaint_cache.generation() == "before"  # one read a request
        complaint_cache._bump()  # this request's own change
        assert complaint_cache.generation() not in ("before", "elsewhere")
    finally:
        usercache._read.reset(token)


def test_outside_a_request_the_key_is_read_at_once():
    cache.set(complaint_cache.GENERATION_KEY, "now", timeout=None)
    assert complaint_cache.generation() == "now"
    cache.set(complaint_cache.GENERATION_KEY, "later", timeout=None)
    assert complaint_cache.generation() == "later"
