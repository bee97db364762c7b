"""The 12345 hotline intake: the city's platform sends work orders, each becomes a complaint (idempotent on the order
number). Authenticated per sending system with its key (`X-Hotline-Key`), registered by the bureau in the admin.
What happens to the complaint is reported back to the system's callback address (supervision.complaints.hotline)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status
from ninja.security import APIKeyHeader
from pydantic import Field, field_validator

from core.errors import DomainError
from supervision.complaints import services as complaint_services
from supervision.complaints.hotline import services

from ..schemas import MAX_ID, ErrorOut


class HotlineKeyAuth(APIKeyHeader):
    """`X-Hotline-Key: sjh_…`: the key the bureau handed to the sending system (stored hashed)."""

    param_name = "X-Hotline-Key"

    def authenticate(self, request, key):
        return services.system_for_key(key)


router = Router(tags=["hotline 12345 工单"], auth=HotlineKeyAuth())

EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2100, 1, 1)


def _sane_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    naive = value.replace(tzinfo=None)
    if not EARLIEST <= naive < LATEST:
        raise ValueError("time out of range (2000–2099)")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


class CallerIn(Schema):
    name: str = Field(..., min_length=1, max_length=50, description="来电人姓名 / caller's name")
    phone: str = Field(..., min_length=3, max_length=30, pattern=r"^[0-9+\- ]+$", description="来电号码")


class WorkOrderIn(Schema):
    """A work order of the 12345 platform. The institution: `institution_id` (registry), or `institution_name` (a
    registry name, or a new unlicensed operator: then `town_code` of its town and, if known, its address)."""

    order_number: str = Field(
        ..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="12345 工单号（唯一）"
    )
    caller: CallerIn
    content: str = Field(
        ...,
        min_length=complaint_services.DESCRIPTION_MIN,
        max_length=complaint_services.DESCRIPTION_MAX,
        description="诉求内容 / what the caller said",
    )
    category: str = Field(..., min_length=1, max_length=30, description="投诉类别代码，见 GET /complaints/categories")
    deadline: datetime = Field(..., description="12345 办理时限 / the platform's deadline (ISO 8601)")
    called_at: datetime | None = Field(None, description="来电时间 / when the call came (default: now)")
    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="名录中的机构 id")
    institution_name: str | None = Field(None, min_length=1, max_length=200, description="机构名称（来电所述）")
    institution_address: str | None = Field(None, max_length=300)
    town_code: str | None = Field(None, max_length=12, pattern=r"^[0-9]*$", description="机构所在镇街区划代码")

    _times = field_validator("deadline", "called_at")(_sane_time)


class WorkOrderOut(Schema):
    order_number: str
    complaint_id: int
    tracking_number: str = Field(..., description="受理编号 / e.g. TS-20261129-0042")
    status: str
    received_at: datetime
    routed_to_handler: bool


@router.post(
    "/work-orders",
    response={200: WorkOrderOut, 201: WorkOrderOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="接收 12345 工单 Receive a 12345 work order",
    description=(
        "每个工单成为一件投诉；同一工单号再次发送返回第一次的结果（200），内容不同则 409。此后每次状态变化和办理结果"
        "以 POST JSON 回传至来源系统登记的地址，带 event_id（X-Event-Id）供去重。/ Each order becomes a complaint; the "
        "same order number again answers the first (200). Every state change is POSTed back with its event_id."
    ),
)
def receive_work_order(request, payload: WorkOrderIn):
    system = request.auth
    if not system.is_active:  # pragma: no cover - system_for_key answers active systems only
        raise DomainError("hotline.system_inactive", _("来源系统已停用"), status=401)
    order = services.WorkOrder(
        order_number=payload.order_number,
        caller_name=payload.caller.name.strip(),
        caller_phone=payload.caller.phone.strip(),
        content=payload.content,
        category=payload.category,
        deadline=payload.deadline,
        called_at=payload.called_at,
        institution_id=payload.institution_id,
        institution_name=payload.institution_name or "",
        institution_address=payload.institution_address or "",
        town_code=payload.town_code or "",
    )
    row, created = services.order_receive(system=system, order=order)
    complaint = row.complaint
    body = {
        "order_number": row.order_number,
        "complaint_id": complaint.pk,
        "tracking_number": complaint.tracking_number,
        "status": complaint.status,
        "received_at": row.received_at,
        "routed_to_handler": complaint.handler_id is not None,
    }
    return Status(201 if created else 200, body)
