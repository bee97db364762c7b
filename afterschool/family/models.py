"""Linking parents to children (R-ASS: voluntary, the parent applies for their own child).

- `GuardianPhone` (afterschool.schedule: the class list holds it): a guardian's phone as the school's class list
  names it. A parent whose account phone is on the list of the child they name is linked at once.
- `ChildLinkRequest`: a parent's request to follow a child. Confirmed at once by the class list's phone, or left for
  the school to confirm (the parent is told so, whether or not a child of that name exists: names are not probed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from afterschool.schedule.models import GuardianPhone, School, SchoolClass, Student  # noqa: F401 - the class list's


class ChildLinkRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("待学校确认")
        CONFIRMED = "confirmed", _("已关联")
        REJECTED = "rejected", _("学校未确认")

    class How(models.TextChoices):
        CLASS_LIST = "class_list", _("名单手机号匹配")
        SCHOOL = "school", _("学校确认")

    parent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="child_link_requests")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="child_link_requests")
    school_class = models.ForeignKey(SchoolClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    child_name = models.CharField("孩子姓名", max_length=50)
    relation = models.CharField("与孩子关系", max_length=20, blank=True)
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="link_requests"
    )  # the child the request names, when the class list has one of that name
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.REQUESTED)
    confirmed_how = models.CharField("确认方式", max_length=12, choices=How.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A phone's retry (Idempotency-Key of the API) answers the first request: the key is unique per parent.
    idempotency_key = models.CharField(max_length=100, blank=True, default="", editable=False)
    request_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("孩子关联申请")
        verbose_name_plural = pgettext_lazy("plural", "孩子关联申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "school", "child_name"],
                condition=Q(status="requested"),
                name="child_link_one_open_request",
            ),
            models.UniqueConstraint(
                fields=["parent", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="child_link_one_request_per_key",
            ),
        ]

    def __str__(self):
        return f"{self.child_name} ({self.get_status_display()})"
