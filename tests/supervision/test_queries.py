"""A page costs the same number of queries for 10 and 100 complaints (the handler's list, the parent's list)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from supervision.models import Complaint, ComplaintCategory

pytestmark = pytest.mark.django_db


def make_complaints(n, parent, institution, handler=None, start=0):
    categories = list(ComplaintCategory.objects.all())
    Complaint.objects.bulk_create(
        Complaint(
            tracking_number=f"TS-QUERIES-{start + i:05d}",
            parent=parent,
            institution=institution,
            town_id=institution.town_id,
            category=categories[i % len(categories)],
            description="测试投诉的描述文字。",
            occurred_at=timezone.now(),
            handler=handler,
            sla_phase="accept",
            sla_due_on=timezone.localdate(),
        )
        for i in range(n)
    )


def queries_for(api, path, params):
    api.get(path, params)  # the first request warms the sign-in cache
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("who", ["handler", "parent"])
def test_the_list_costs_the_same_for_10_and_100(api_as, parent, registered, registered_b, staff_a, supervisor, who):
    user = {"handler": supervisor, "parent": parent}[who]
    api = api_as(user)
    make_complaints(10, parent, registered, handler=staff_a)
    small, body = queries_for(api, "complaints", {"page_size": 100})
    assert body["count"] == 10
    make_complaints(45, parent, registered, start=100)
    make_complaints(45, parent, registered_b, handler=staff_a, start=200)
    large, body = queries_for(api, "complaints", {"page_size": 100})
    assert body["count"] == 100 and len(body["items"]) == 100
    assert large == small, (small, large)
    assert small <= 6


def test_the_handler_list_of_50_with_filters(api_as, parent, registered, staff_a):
    make_complaints(60, parent, registered, handler=staff_a)
    api = api_as(staff_a)
    count, body = queries_for(api, "complaints", {"page_size": 50, "mine": "true", "status": "submitted"})
    assert len(body["items"]) == 50 and body["count"] == 60
    assert count <= 6


def test_the_handlers_list_is_cached_per_user_and_never_served_after_a_change(
    api_as, parent, registered, staff_a, supervisor, settings
):
    """Production keeps list answers a few seconds per process (bench/); a change through the services makes
    every process compute them afresh, and one user's answer is never another's."""
    settings.COMPLAINT_LIST_CACHE_SECONDS = 60
    from .conftest import file

    cid = file(api_as(parent), registered).json()["id"]
    handler, boss = api_as(staff_a), api_as(supervisor)
    assert handler.get("complaints").json()["items"][0]["status"] == "submitted"
    with CaptureQueriesContext(connection) as ctx:
        assert handler.get("complaints").json()["count"] == 1
    assert not [q for q in ctx.captured_queries if "supervision_complaint" in q["sql"]]  # served from the cache

    boss.post(f"complaints/{cid}/actions", {"action": "accept"})
    assert handler.get("complaints").json()["items"][0]["status"] == "accepted"  # not the cached "submitted"
    make_complaints(3, parent, registered, start=500)  # behind the services' back: shows within the TTL, not at once
    assert handler.get("complaints").json()["count"] == 1
    assert api_as(parent).get("complaints").json()["count"] == 4  # another user: another key
