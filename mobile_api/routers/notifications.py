from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema

from core import notifications as inbox

from ..pagination import PageParams, paginate
from ..schemas import ErrorOut

router = Router(tags=["notifications 通知"])


class ObjectRef(Schema):
    type: str
    id: str


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    object: ObjectRef | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_object(obj):
        return {"type": obj.object_type, "id": obj.object_id} if obj.object_type else None


class NotificationPage(Schema):
    items: list[NotificationOut]
    count: int
    unread: int


class NotificationFilters(PageParams):
    unread: bool | None = None


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


@router.get("", response={200: NotificationPage, 401: ErrorOut, 422: ErrorOut}, summary="我的通知 My inbox")
def list_notifications(request, filters: Query[NotificationFilters]):
    qs = inbox.notifications_for(request.auth)
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    return {**paginate(qs, filters), "unread": inbox.unread_count(request.auth)}


@router.get("/unread-count", response={200: UnreadOut, 401: ErrorOut}, summary="未读数 Unread count")
def unread_count(request):
    return {"unread": inbox.unread_count(request.auth)}


@router.post(
    "/{notification_id}/read",
    response={200: NotificationOut, 401: ErrorOut, 404: ErrorOut},
    summary="标记已读 Mark read",
)
def mark_read(request, notification_id: int):
    return inbox.notification_mark_read(actor=request.auth, notification_id=notification_id)


@router.post("/read-all", response={200: MarkedOut, 401: ErrorOut}, summary="全部已读 Mark all read")
def mark_all_read(request):
    return {"marked": inbox.notification_mark_all_read(actor=request.auth)}
