"""Open311 clients (registered by the bureau, each with a hashed api_key) and the requests they filed.

Who is the complaint's parent? `Complaint.parent` is a required user, `complaint_file` accepts only a parent, and its
Idempotency-Key is unique per parent. Each client therefore files as its own system user (no password, a parent
membership, created when the bureau registers the client): keys of one client never collide with another's, and a
reporter never gets an account from an unverified phone number or e-mail (anyone could claim it). The reporter's
contact, as the spec sends it, is kept here beside the complaint for the bureau, and no Open311 answer returns it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Open311Client(models.Model):
    name = models.CharField("名称", max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField("密钥前缀", max_length=12, editable=False)  # to tell keys apart, not to use them
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, verbose_name="系统账号"
    )
    requests_per_minute = models.PositiveSmallIntegerField("每分钟提交上限", default=30)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = pgettext_lazy("plural", "Open311 客户端")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(requests_per_minute__gte=1), name="open311_rate_min")]

    def __str__(self):
        return self.name


class Open311Request(models.Model):
    """A complaint filed through Open311: its token, the client and the reporter's contact (never shown back)."""

    complaint = models.OneToOneField("Complaint", on_delete=models.CASCADE, related_name="open311")
    client = models.ForeignKey(Open311Client, on_delete=models.PROTECT, related_name="requests")
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    address_string = models.CharField("地址", max_length=300, blank=True)
    first_name = models.CharField(max_length=50, blank=True)
    last_name = models.CharField(max_length=50, blank=True)
    email = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    # The spec's media_url: a photo somewhere else. Kept as a reference only (open311/services.py says why).
    media_url = models.URLField("外部图片链接", max_length=500, blank=True)
    request_hash = models.CharField(max_length=64, editable=False)  # what was asked: the same key, another ask → 409
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Open311 请求")
        verbose_name_plural = pgettext_lazy("plural", "Open311 请求")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.client_id} / {self.complaint_id}"
