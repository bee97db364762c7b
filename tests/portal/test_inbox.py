"""The notification inbox page (/notifications/): newest first, paginated, unread marked, opening an entry marks it
read and leads to its object's page; "mark all read"; someone else's notification answers 404; a page of the inbox
costs the same queries for 5 and 50 notifications."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Notification
from core.notifications import notify
from tests.conftest import PASSWORD
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def titles(html: str) -> list[str]:
    return re.findall(r'<span class="inbox-title">([^<]*)</span>', html)


def test_newest_first_and_unread_marked(parent, other_parent):
    notify(recipients=[parent], kind="k", title="第一条")
    second, = notify(recipients=[parent], kind="k", title="第二条")
    notify(recipients=[other_parent], kind="k", title="别人的")
    Notification.objects.filter(pk=second.pk).update(read_at=timezone.now())
    html = signed_in(parent).get("/notifications/").content.decode()
    assert titles(html) == ["第二条", "第一条"]
    assert html.count('class="inbox-item unread"') == 1
    assert re.search(r'id="n\d+" class="inbox-item unread"[^>]*>\s*<div class="inbox-link">\s*<span class="dot"', html)


def test_the_inbox_is_paginated(parent):
    for i in range(25):
        notify(recipients=[parent], kind="k", title=f"n{i:02d}")
    client = signed_in(parent)
    first = titles(client.get("/notifications/").content.decode())
    second = titles(client.get("/notifications/?page=2").content.decode())
    assert len(first) == 20 and first[0] == "n24" and second == [f"n{i:02d}" for i in range(4, -1, -1)]


def test_opening_an_entry_marks_it_read_and_leads_to_its_page(parent):
    complaint = ComplaintFactory(parent=parent)
    n, = notify(recipients=[parent], kind="complaint.answered", title="投诉已答复", obj=complaint)
    client = signed_in(parent)
    html = client.get("/notifications/").content.decode()
    assert f'href="/notifications/{n.pk}/open"' in html
    response = client.get(f"/notifications/{n.pk}/open")
    assert response.status_code == 302 and response["Location"] == f"/complaints/{complaint.pk}/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_an_entry_without_a_page_has_no_link_and_is_marked_read_by_a_button(parent):
    n, = notify(recipients=[parent], kind="system.notice", title="系统通知")
    client = signed_in(parent)
    html = client.get("/notifications/").content.decode()
    assert f'href="/notifications/{n.pk}/open"' not in html and "标为已读" in html
    response = client.post(f"/notifications/{n.pk}/open", {"next": "/notifications/?page=1"})
    assert response.status_code == 302 and response["Location"] == f"/notifications/?page=1#n{n.pk}"
    n.refresh_from_db()
    assert n.read_at is not None
    evil = client.post(f"/notifications/{n.pk}/open", {"next": "https://evil.example/"})
    assert evil["Location"] == f"/notifications/#n{n.pk}"


def test_another_users_notification_answers_404_and_stays_unread(parent, other_parent):
    theirs, = notify(recipients=[other_parent], kind="k", title="私信")
    client = signed_in(parent)
    assert client.get(f"/notifications/{theirs.pk}/open").status_code == 404
    assert client.post(f"/notifications/{theirs.pk}/open").status_code == 404
    assert client.get("/notifications/999999/open").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_mark_all_read(parent, other_parent):
    notify(recipients=[parent, other_parent], kind="k", title="a")
    notify(recipients=[parent], kind="k", title="b")
    client = signed_in(parent)
    assert client.get("/notifications/read-all").status_code == 405
    response = client.post("/notifications/read-all")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert not Notification.objects.filter(recipient=parent, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other_parent, read_at__isnull=True).count() == 1


def test_the_inbox_needs_a_sign_in(client, parent):
    n, = notify(recipients=[parent], kind="k", title="a")
    for path in ("/notifications/", f"/notifications/{n.pk}/open"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_object_pages_map_to_existing_pages():
    from portal.notifications import object_url

    assert object_url("supervision.complaint", "7") == "/complaints/7/"
    assert object_url("afterschool.admission", "3") == "/afterschool/admissions/3/"
    assert object_url("afterschool.application", "3") == "/afterschool/children/"
    assert object_url("supervision.rectificationorder", "3") is None
    assert object_url("supervision.complaint", "not-a-number") is None
    assert object_url("", "") is None


@pytest.mark.parametrize("count", [5, 50])
def test_a_page_of_the_inbox_costs_a_fixed_number_of_queries(parent, count, django_assert_max_num_queries):
    complaint = ComplaintFactory(parent=parent)
    for i in range(count):
        notify(recipients=[parent], kind="k", title=f"n{i}", obj=complaint if i % 2 else None)
    client = Client()
    assert client.login(username=parent.phone, password=PASSWORD)
    client.get("/notifications/")  # warm: the session's first read
    # session (read from Redis instead where production keeps sessions there), user, memberships (menu), unread
    # count, page count, page rows
    with django_assert_max_num_queries(6):
        response = client.get("/notifications/")
    assert response.status_code == 200 and len(titles(response.content.decode())) == min(count, 20)
