"""The demo has a 12345 work order (accepted, its events waiting in the outbox as failed: the demo's 12345 address
answers nobody) and an Open311 client; the keys the command prints work, and a second run adds nothing."""

import pytest
from django.core.management import call_command

from supervision.complaints.interop_demo import HOTLINE_KEY, OPEN311_KEY, ORDER_NUMBER
from supervision.models import HotlineEvent, HotlineOrder, Open311Client, OutboxState
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_12345_order_and_an_open311_client_with_working_printed_keys(
    client, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    printed = capsys.readouterr().out
    assert OPEN311_KEY in printed and HOTLINE_KEY in printed and "/hotline/outbox/" in printed
    order = HotlineOrder.objects.get(order_number=ORDER_NUMBER)
    assert order.complaint.status == "accepted"
    assert list(HotlineEvent.objects.order_by("sequence").values_list("kind", "state")) == [
        ("received", OutboxState.FAILED),
        ("accept", OutboxState.FAILED),
    ]
    assert Open311Client.objects.count() == 1

    assert client.get("/open311/v2/requests.json").status_code == 200
    again = ApiClient().post(
        "hotline/work-orders",
        {"order_number": "bad"},
        HTTP_X_HOTLINE_KEY=HOTLINE_KEY,
    )
    assert again.status_code == 422  # past the key check: the printed key is the system's
    no_place = client.post("/open311/v2/requests.json", {"api_key": OPEN311_KEY, "service_code": "refund"})
    assert no_place.status_code == 400  # past the key check (a wrong key is 403)

    call_command("seed_demo")
    assert HotlineOrder.objects.count() == 1 and HotlineEvent.objects.count() == 2
    assert Open311Client.objects.count() == 1
