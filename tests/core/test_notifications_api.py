"""The inbox: rows per recipient, listed newest first, unread count, mark read; nobody reads another's inbox."""

import pytest

from core.models import Notification
from core.notifications import notify
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_inbox_lists_own_notifications_newest_first(parent, other_parent, api_as):
    notify(recipients=[parent], kind="complaint.answered", title="第一条")
    notify(recipients=[parent, other_parent], kind="system.notice", title="第二条")
    body = api_as(parent).get("notifications").json()
    assert body["count"] == 2 and body["unread"] == 2
    assert [n["title"] for n in body["items"]] == ["第二条", "第一条"]
    assert body["items"][0]["created_at"].endswith("+08:00")


def test_unread_count_and_mark_read(parent, api_as):
    first, = notify(recipients=[parent], kind="k", title="a")
    notify(recipients=[parent], kind="k", title="b")
    client = api_as(parent)
    assert client.get("notifications/unread-count").json() == {"unread": 2}
    response = client.post(f"notifications/{first.pk}/read")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert client.get("notifications/unread-count").json() == {"unread": 1}
    assert [n["title"] for n in client.get("notifications", {"unread": "true"}).json()["items"]] == ["b"]
    assert client.post("notifications/read-all").json() == {"marked": 1}
    assert client.get("notifications/unread-count").json() == {"unread": 0}


def test_another_users_notification_is_404(parent, other_parent, api_as):
    theirs, = notify(recipients=[other_parent], kind="k", title="私信")
    assert_error(api_as(parent).post(f"notifications/{theirs.pk}/read"), 404, "not_found")
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert api_as(parent).get("notifications").json()["count"] == 0


@pytest.mark.parametrize("path", ["notifications", "notifications/unread-count"])
def test_inbox_needs_a_token(anon, path):
    assert_error(anon.get(path), 401)


def test_pagination_is_capped_and_counts_everything(parent, api_as):
    for i in range(25):
        notify(recipients=[parent], kind="k", title=f"n{i}")
    client = api_as(parent)
    page2 = client.get("notifications", {"page": 2, "page_size": 10}).json()
    assert page2["count"] == 25 and len(page2["items"]) == 10
    assert page2["items"][0]["title"] == "n14"
    assert_error(client.get("notifications", {"page_size": 101}), 422)


def test_listing_costs_the_same_queries_whatever_the_page_size(parent, api_as, django_assert_max_num_queries):
    client = api_as(parent)
    for i in range(50):
        notify(recipients=[parent], kind="k", title=f"n{i}")
    client.get("me")  # with Redis the sign-in is cached after the first request
    # token lookup (unless cached), list, count, unread count
    with django_assert_max_num_queries(4):
        assert len(client.get("notifications", {"page_size": 5}).json()["items"]) == 5
    with django_assert_max_num_queries(4):
        assert len(client.get("notifications", {"page_size": 50}).json()["items"]) == 50


def test_dedupe_key_gives_each_recipient_one_row(parent, other_parent):
    notify(recipients=[parent], kind="k", title="提醒", dedupe_key="licence.expiry:7:30d")
    again = notify(recipients=[parent, other_parent], kind="k", title="提醒", dedupe_key="licence.expiry:7:30d")
    assert [n.recipient_id for n in again] == [other_parent.pk]
    assert Notification.objects.filter(recipient=parent).count() == 1


def test_push_happens_only_after_commit(parent, django_capture_on_commit_callbacks, monkeypatch):
    pushed = []
    monkeypatch.setattr("core.notifications.push_events", pushed.extend)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row, = notify(recipients=[parent], kind="system.notice", title="通知", obj=parent)
        assert pushed == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    user_id, event = pushed[0]
    assert user_id == parent.pk
    assert (event["type"], event["id"]) == ("system.notice", row.pk)
    assert event["payload"]["object"] == {"type": "accounts.user", "id": str(parent.pk)}
    assert event["at"].endswith("+08:00")
