"""The 12345 hotline: sending systems (registered by the bureau, hashed keys), the work orders they sent, and the
outbox of events reported back to them.

A work order is filed as a complaint of the system's own user (its "parent": no password, a parent membership), with
the Idempotency-Key `12345:<order number>`; the caller's name and phone stay here, for the bureau only.

The outbox is durable: a row is written in the same transaction as the complaint's change, so an event exists if and
only if the change does. A Celery task delivers it (retried with exponential backoff); after the last attempt it is
`failed`, shown to the bureau with a resend button. Each event carries its id (and a per-order sequence), so the
receiver can drop a second delivery of the same event.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HotlineSystem(models.Model):
    name = models.CharField("名称", max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField("密钥前缀", max_length=12, editable=False)
    callback_url = models.URLField("回传地址", max_length=500, help_text="事件以 POST JSON 回传至此地址")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, verbose_name="系统账号"
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("12345 来源系统")
        verbose_name_plural = pgettext_lazy("plural", "12345 来源系统")
        ordering = ["name"]

    def __str__(self):
        return self.name


class HotlineOrder(models.Model):
    system = models.ForeignKey(HotlineSystem, on_delete=models.PROTECT, related_name="orders")
    order_number = models.CharField("工单号", max_length=64)
    complaint = models.OneToOneField("Complaint", on_delete=models.PROTECT, related_name="hotline_order")
    caller_name = models.CharField("来电人", max_length=50)
    caller_phone = models.CharField("来电号码", max_length=30)
    content = models.TextField("诉求内容", max_length=2000)
    category = models.CharField("类别", max_length=30)
    deadline = models.DateTimeField("办理时限")
    institution_text = models.CharField("机构（来电所述）", max_length=300, blank=True)
    request_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = _("12345 工单")
        verbose_name_plural = pgettext_lazy("plural", "12345 工单")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "order_number"], name="hotline_order_number_per_system")
        ]

    def __str__(self):
        return self.order_number


class OutboxState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")


class HotlineEvent(models.Model):
    """One event for the sender: written with the change, delivered at least once, marked delivered once."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(HotlineOrder, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField("序号")  # 1, 2, … per order: the receiver can put events in order
    kind = models.CharField("事件", max_length=40)
    payload = models.JSONField()
    state = models.CharField("状态", max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a sender is trying until then
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("12345 回传事件")
        verbose_name_plural = pgettext_lazy("plural", "12345 回传事件")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="hotline_event_state")]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="hotline_event_sequence"),
            models.CheckConstraint(
                name="hotline_event_delivered_at", condition=~Q(state="delivered") | Q(delivered_at__isnull=False)
            ),
        ]

    def __str__(self):
        return f"{self.order_id} #{self.sequence} {self.kind} ({self.state})"
