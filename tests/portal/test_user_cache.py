"""A person's home counts and unread count are kept a few seconds (core.usercache), so a home does not pay every
count on every request, yet what they just did or were just told shows at once."""

from __future__ import annotations

import time

import pytest

from accounts.models import Role
from core.notifications import notify
from tests.conftest import TOWN_A, make_user, region
from tests.factories import ComplaintFactory
from tests.portal.conftest import NOW, client_for, counts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_afternoon")]


@pytest.fixture
def kept(settings):
    settings.USER_CACHE_SECONDS = 30


def handler():
    return make_user("办件人", Role.BUREAU_STAFF, region=region(TOWN_A))


def test_a_second_home_costs_only_the_frame(kept, django_assert_max_num_queries):
    staff = handler()
    ComplaintFactory.create_batch(2, town=region(TOWN_A))
    client = client_for(staff)
    assert client.get("/").status_code == 200
    with django_assert_max_num_queries(3):  # the session's user and memberships; counts and unread are kept
        assert client.get("/").status_code == 200


def test_others_changes_show_once_the_kept_counts_expire(kept, settings, time_machine):
    settings.USER_CACHE_SECONDS = 1
    time_machine.move_to(NOW, tick=False)
    staff = handler()
    ComplaintFactory(town=region(TOWN_A))
    assert counts(staff)["complaints-to-accept"] == "1"
    ComplaintFactory(town=region(TOWN_A))  # filed by someone else, nobody told: kept a few seconds
    assert counts(staff)["complaints-to-accept"] == "1"
    time_machine.shift(2)  # the process's own cache reads the (travelled) clock
    time.sleep(1.1)  # Redis (the production lane) expires keys by its own
    assert counts(staff)["complaints-to-accept"] == "2"


def test_being_notified_shows_at_once(kept, django_capture_on_commit_callbacks):
    staff = handler()
    ComplaintFactory(town=region(TOWN_A))
    client = client_for(staff)
    assert 'data-testid="unread-count" hidden>0<' in client.get("/").content.decode()
    ComplaintFactory(town=region(TOWN_A))
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[staff], kind="complaint.routed", title="新投诉")
    page = client.get("/").content.decode()
    assert 'data-testid="unread-count">1<' in page and 'data-testid="count-complaints-to-accept">2<' in page


def test_a_write_of_ones_own_shows_at_once(kept, django_capture_on_commit_callbacks):
    staff = handler()
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[staff], kind="x", title="一条通知")
    assert 'data-testid="unread-count">1<' in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/notifications/read-all").status_code in (200, 302)
    assert 'data-testid="unread-count" hidden>0<' in client.get("/").content.decode()


def test_nothing_is_kept_when_switched_off(settings):
    settings.USER_CACHE_SECONDS = 0
    staff = handler()
    assert counts(staff)["complaints-to-accept"] == "0"
    ComplaintFactory(town=region(TOWN_A))
    assert counts(staff)["complaints-to-accept"] == "1"


def test_the_inbox_first_page_is_kept_and_a_new_notification_shows_at_once(
    kept, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    staff = handler()
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[staff], kind="x", title="第一条")
    assert "第一条" in client.get("/notifications/").content.decode()
    with django_assert_max_num_queries(3):  # the session, its user and memberships: rows and count are kept
        assert client.get("/notifications/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[staff], kind="x", title="第二条")
    page = client.get("/notifications/").content.decode()
    assert "第一条" in page and "第二条" in page and 'data-testid="unread-count">2<' in page


def test_marking_read_shows_in_the_kept_inbox_at_once(kept, django_capture_on_commit_callbacks):
    staff = handler()
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[staff], kind="x", title="一条通知")
    assert 'class="inbox-item unread"' in client.get("/notifications/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/notifications/read-all").status_code in (200, 302)
    assert 'class="inbox-item unread"' not in client.get("/notifications/").content.decode()
