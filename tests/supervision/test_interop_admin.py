"""The bureau registers Open311 clients and 12345 sending systems in the admin: the key is shown once, stored only
hashed, and can be rotated; work orders and the outbox are there to read, failed events to resend."""

import re

import pytest

from supervision.complaints.system_clients import hash_key
from supervision.models import HotlineSystem, Open311Client

pytestmark = pytest.mark.django_db


def _shown_key(response, prefix: str) -> str:
    match = re.search(rf"({prefix}[A-Za-z0-9_\-]{{20,}})", response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def test_registering_an_open311_client_shows_its_key_once(admin_client, client):
    added = admin_client.post(
        "/admin/supervision/open311client/add/",
        {"name": "随手拍", "requests_per_minute": "30", "is_active": "on"},
        follow=True,
    )
    key = _shown_key(added, "sjo_")
    stored = Open311Client.objects.get()
    assert stored.key_hash == hash_key(key) and key not in str(Open311Client.objects.values().get())
    assert stored.user.memberships.get().role == "parent" and not stored.user.has_usable_password()
    assert key not in admin_client.get(f"/admin/supervision/open311client/{stored.pk}/change/").content.decode()
    no_place = client.post("/open311/v2/requests.json", {"api_key": key, "service_code": "refund"})
    assert no_place.status_code == 400  # past the key check

    rotated = admin_client.post(
        "/admin/supervision/open311client/",
        {"action": "rotate_key", "_selected_action": [stored.pk]},
        follow=True,
    )
    new_key = _shown_key(rotated, "sjo_")
    assert new_key != key
    assert client.post("/open311/v2/requests.json", {"api_key": key, "service_code": "refund"}).status_code == 403


def test_registering_a_12345_system_shows_its_key_once(admin_client):
    added = admin_client.post(
        "/admin/supervision/hotlinesystem/add/",
        {"name": "重庆12345", "callback_url": "https://12345.example.cn/callback", "is_active": "on"},
        follow=True,
    )
    key = _shown_key(added, "sjh_")
    assert HotlineSystem.objects.get().key_hash == hash_key(key)


@pytest.mark.parametrize("path", ["hotlineorder", "hotlineevent"])
def test_orders_and_events_are_read_only(admin_client, path):
    assert admin_client.get(f"/admin/supervision/{path}/").status_code == 200
    assert admin_client.get(f"/admin/supervision/{path}/add/").status_code == 403
