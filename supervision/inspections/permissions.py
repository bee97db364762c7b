"""Who may reach which inspection, plan, order and penalty: `access_*` return the row or raise the same 404 for
missing and not yours, so ids cannot be probed; `require_bureau` refuses what only bureau staff may do."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.errors import NotFound, PermissionDenied

from .models import Inspection, InspectionAssignment, InspectionPlan, PenaltyDecision, RectificationOrder
from .selectors import inspections_visible_to, orders_visible_to, penalties_visible_to, plans_visible_to


def require_bureau(actor) -> None:
    if not scope.is_bureau(actor):
        raise PermissionDenied(_("仅教育局工作人员可以操作"))


def access_inspection(user, inspection_id: int) -> Inspection:
    row = inspections_visible_to(user).select_related("institution", "town").filter(pk=inspection_id).first()
    if row is None:
        raise NotFound(_("检查不存在"))
    return row


def access_assigned_inspection(user, inspection_id: int) -> None:
    """Only a member of the visit's team sends its photos: anyone else (and a missing visit) gets the same 404."""
    if not InspectionAssignment.objects.filter(inspection_id=inspection_id, inspector_id=user.pk).exists():
        raise NotFound(_("检查不存在"))


def access_plan(user, plan_id: int, *, for_update: bool = False) -> InspectionPlan:
    qs = plans_visible_to(user)
    if for_update:
        qs = qs.select_for_update()
    row = qs.filter(pk=plan_id).first()
    if row is None:
        raise NotFound(_("检查计划不存在"))
    return row


def access_order(user, order_id: int, *, for_update: bool = False) -> RectificationOrder:
    qs = orders_visible_to(user)
    if for_update:
        qs = qs.select_for_update()
    row = qs.filter(pk=order_id).first()
    if row is None:
        raise NotFound(_("整改通知不存在"))
    return row


def access_penalty(user, penalty_id: int) -> PenaltyDecision:
    row = penalties_visible_to(user).select_related("institution", "town").filter(pk=penalty_id).first()
    if row is None:
        raise NotFound(_("处罚决定不存在"))
    return row
