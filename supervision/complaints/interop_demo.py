"""Demo data of the interfaces (idempotent), called by `manage.py seed_demo` after the complaints: one Open311
client and one 12345 sending system, each with a fixed demo key printed by the command, and one 12345 work order,
accepted by the handler, whose events wait in the outbox (the demo's 12345 address answers nobody, so they show as
failed on /hotline/outbox/ with a resend button)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from institutions.models import Institution

from . import services
from .demo import HANDLER_PHONE, SHOWCASE, SUPERVISOR_PHONE
from .hotline import services as hotline
from .hotline.models import HotlineOrder, HotlineSystem
from .models import ComplaintStatus
from .open311 import services as open311
from .open311.models import Open311Client
from .system_clients import hash_key

# Demo keys only: a real client's key is random, shown once when the bureau registers it, and stored hashed.
OPEN311_CLIENT = "随手拍（演示）"
OPEN311_KEY = "sjo_demo-open311-fuling-2026"
HOTLINE_SYSTEM = "重庆 12345（演示）"
HOTLINE_KEY = "sjh_demo-12345-fuling-2026"
HOTLINE_CALLBACK = "http://127.0.0.1:9/12345/callback"  # nothing listens there: the outbox shows what failed
ORDER_NUMBER = "CQ12345-20261201-0001"


def seed_interop() -> dict[str, str]:
    """{"open311_key", "hotline_key", "order_number"}; empty when the demo users are missing."""
    admin = User.objects.filter(phone=SUPERVISOR_PHONE).first()
    handler = User.objects.filter(phone=HANDLER_PHONE).first()
    showcase = Institution.objects.filter(name=SHOWCASE).first()
    if not (admin and handler and showcase):
        return {}
    with transaction.atomic():
        client = Open311Client.objects.filter(name=OPEN311_CLIENT).first()
        if client is None:
            client, _raw = open311.client_register(actor=admin, name=OPEN311_CLIENT, requests_per_minute=60)
        Open311Client.objects.filter(pk=client.pk).update(key_hash=hash_key(OPEN311_KEY), key_prefix=OPEN311_KEY[:8])
        system = HotlineSystem.objects.filter(name=HOTLINE_SYSTEM).first()
        if system is None:
            system, _raw = hotline.system_register(actor=admin, name=HOTLINE_SYSTEM, callback_url=HOTLINE_CALLBACK)
        HotlineSystem.objects.filter(pk=system.pk).update(key_hash=hash_key(HOTLINE_KEY), key_prefix=HOTLINE_KEY[:8])
        system.refresh_from_db()
        if not HotlineOrder.objects.filter(system=system, order_number=ORDER_NUMBER).exists():
            order, _created = hotline.order_receive(
                system=system,
                order=hotline.WorkOrder(
                    order_number=ORDER_NUMBER,
                    caller_name="刘先生",
                    caller_phone="13500001234",
                    content="来电反映：机构一次性收取一年美术课费 9600 元，要求退还未上课时费用被拒。",
                    category="refund",
                    deadline=timezone.now() + timedelta(days=10),
                    institution_name=SHOWCASE,
                    called_at=timezone.now() - timedelta(hours=3),
                ),
            )
            if order.complaint.status == ComplaintStatus.SUBMITTED:
                services.complaint_act(actor=handler, complaint_id=order.complaint_id, action="accept", data={})
    return {"open311_key": OPEN311_KEY, "hotline_key": HOTLINE_KEY, "order_number": ORDER_NUMBER}
