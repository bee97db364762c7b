"""The complaints API. Sub-routers of this area hang from `router` (router.add_router), so api.py names it once.

Parents file (`POST /complaints`, JSON, or multipart with up to 9 photos) and follow their complaints; bureau staff
handle those of their towns through `POST /complaints/{id}/actions`; the thread is `/complaints/{id}/messages`;
institution staff answer statement requests (`/statement-requests`) without learning who complained.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema, Status
from ninja.errors import ValidationError
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from accounts import scope
from accounts.selectors import memberships_of
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response
from core.idempotency import clean_key
from core.text import refuse_disguised
from supervision.complaints import cache as complaint_cache
from supervision.complaints import permissions, selectors, services, sla
from supervision.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintCategory,
    ComplaintMessage,
    ComplaintPhoto,
    ComplaintStatus,
    RoutingRule,
    StatementRequest,
)

from ..api_json import LocalTimeEncoder
from ..pagination import PageParams, paginate
from ..schemas import MAX_ID, ErrorOut

router = Router(tags=["complaints 投诉"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut, 415: ErrorOut, 503: ErrorOut}

GradeCode = Literal["preschool", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "high"]
StatusCode = Literal["submitted", "accepted", "rejected", "assigned", "investigating", "answered", "closed"]
ActionCode = Literal["accept", "reject", "merge", "assign", "start", "answer", "reopen", "rate", "confirm_institution"]


# --- Filing --------------------------------------------------------------------------------------------------------


class ComplaintIn(Schema):
    """One of institution_id, verification_token, or new_institution_name + new_institution_address + town_id."""

    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="名录中的机构 / registry institution id")
    verification_token: str | None = Field(
        None, max_length=64, description="机构海报二维码中的核验码 / token scanned from the poster"
    )
    new_institution_name: str | None = Field(None, min_length=1, max_length=200, description="名录中没有的机构")
    new_institution_address: str | None = Field(None, min_length=1, max_length=300)
    town_id: int | None = Field(None, ge=1, le=MAX_ID, description="新报机构所在镇街 / town of a new institution")
    category: str = Field(..., max_length=30, description="投诉类别代码，见 GET /complaints/categories")
    description: str = Field(
        ..., min_length=services.DESCRIPTION_MIN, max_length=services.DESCRIPTION_MAX, description="情况描述 / account"
    )
    occurred_at: datetime = Field(..., description="发生时间 / when it happened (ISO 8601)")
    latitude: float | None = Field(None, ge=3.8, le=53.6)
    longitude: float | None = Field(None, ge=73.5, le=135.1)
    child_grade: GradeCode | None = None
    disclose_identity: bool = Field(False, description="允许机构知晓投诉人（默认否）/ may the institution know who")


class PhotoRef(Schema):
    id: int
    state: Literal["processing", "ready", "failed"]


class ComplaintFiledOut(Schema):
    id: int
    tracking_number: str = Field(..., description="受理编号，可电话报读 / e.g. TS-20261129-0042")
    status: StatusCode
    created_at: datetime
    routed_to_handler: bool = Field(..., description="已分派到承办人（否则在区级待分派队列）")
    photos: list[PhotoRef]


_FILING_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ComplaintIn.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["payload"],
                "properties": {
                    "payload": {"type": "string", "description": "ComplaintIn 的 JSON 文本 / ComplaintIn as JSON"},
                    "photos": {
                        "type": "array",
                        "maxItems": services.MAX_PHOTOS,
                        "items": {"type": "string", "format": "binary"},
                        "description": "最多 9 张 JPEG/PNG/WebP，每张不超过 10 MB",
                    },
                },
            }
        },
    },
}


def _json_body(raw: bytes | str) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DomainError(
            "request.malformed_json", _("请求体不是有效的 JSON")
        ) from None
    if "\x00" in json.dumps(data, ensure_ascii=False):
        raise DomainError("request.nul_character", _("输入中含有不允许的空字符"))
    refuse_disguised(data)
    return data


def _read_filing(request) -> tuple[ComplaintIn, list]:
    content_type = (request.content_type or "").lower()
    photos: list = []
    if content_type == "multipart/form-data":
        try:
            raw = request.POST.get("payload")
            photos = request.FILES.getlist("photos")
        except (MultiPartParserError, SuspiciousOperation):  # malformed, or too many fields or files
            raise DomainError("request.bad_multipart", _("上传内容格式有误")) from None
        if raw is None:
            raise DomainError(
                "request.invalid",
                _("缺少 payload 字段"),
                status=422,
                fields={"payload": _("必填")},
            )
        data = _json_body(raw)
    else:
        data = _json_body(request.body)
    if not isinstance(data, dict):
        raise DomainError("request.invalid", _("请求体应为对象"), status=422)
    try:
        return ComplaintIn.model_validate(data), photos
    except PydanticValidationError as exc:
        raise ValidationError([dict(e, loc=("body", *e["loc"])) for e in exc.errors()]) from None


@router.post(
    "/complaints",
    response={200: ComplaintFiledOut, 201: ComplaintFiledOut, **UPLOAD_ERRORS},
    summary="提交投诉 File a complaint (parent)",
    description=(
        "JSON，或 multipart/form-data（payload = JSON 文本，photos = 最多 9 张照片）。同一 Idempotency-Key 重复提交"
        "返回第一次的结果（200）而不会重复创建。/ The same Idempotency-Key again answers the first complaint (200)."
    ),
    openapi_extra={"requestBody": _FILING_BODY},
)
def file_complaint(
    request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
):
    key = clean_key(idempotency_key)
    payload, photos = _read_filing(request)
    new = None
    if payload.new_institution_name is not None or payload.new_institution_address is not None:
        if not (payload.new_institution_name and payload.new_institution_address and payload.town_id):
            raise DomainError(
                "complaint.new_institution_incomplete",
                _("新报机构须填写名称、地址和所在镇街"),
                status=422,
                fields={"new_institution_name": _("须同时填写名称、地址和镇街")},
            )
        new = services.NewInstitution(
            name=payload.new_institution_name.strip(),
            address=payload.new_institution_address.strip(),
            town_id=payload.town_id,
        )
    filing = services.Filing(
        category=payload.category,
        description=payload.description,
        occurred_at=payload.occurred_at,
        institution_id=payload.institution_id,
        verification_token=payload.verification_token,
        new_institution=new,
        latitude=payload.latitude,
        longitude=payload.longitude,
        child_grade=payload.child_grade or "",
        disclose_identity=payload.disclose_identity,
    )
    complaint, created = services.complaint_file(actor=request.auth, filing=filing, photos=photos, idempotency_key=key)
    photos_out = list(complaint.photos.order_by("position", "id").values("id", "state")) if photos else []
    body = {
        "id": complaint.pk,
        "tracking_number": complaint.tracking_number,
        "status": complaint.status,
        "created_at": complaint.created_at,
        "routed_to_handler": complaint.handler_id is not None,
        "photos": photos_out,
    }
    return Status(201 if created else 200, body)


# --- Categories ----------------------------------------------------------------------------------------------------


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str
    answer_working_days: int
    typical_referral: str


@router.get("/complaints/categories", response={200: list[CategoryOut], 401: ErrorOut}, summary="投诉类别 Categories")
def list_categories(request):
    return [
        {
            "code": c.code,
            "name": c.name_zh,
            "name_en": c.name_en,
            "answer_working_days": c.answer_working_days,
            "typical_referral": c.typical_referral,
        }
        for c in ComplaintCategory.objects.filter(is_active=True)
    ]


# --- Lists and detail ----------------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class InstitutionRef(Schema):
    id: int
    name: str
    status: str
    confirmed: bool


class ComplaintListItem(Schema):
    id: int
    tracking_number: str
    status: StatusCode
    status_label: str
    category: str
    category_label: str
    institution: InstitutionRef
    town: Ref
    handler: Ref | None
    created_at: datetime
    due_on: date | None = Field(..., description="当前时限的最后一个工作日 / last working day of the running clock")
    overdue: bool
    paused: bool = Field(..., description="等待家长补充，计时暂停 / waiting for the parent, clock paused")
    outcome: str | None


class ComplaintPage(Schema):
    items: list[ComplaintListItem]
    count: int


class ComplaintFilters(PageParams):
    status: StatusCode | None = None
    mine: bool = Field(False, description="只看我承办的 / only those I handle")
    queue: bool = Field(False, description="区级待分派队列 / the district queue (no handler)")
    overdue: bool = False
    q: str | None = Field(None, max_length=50, description="受理编号或机构名称 / tracking number or institution")


def _list_item(c: Complaint, today: date) -> dict:
    return {
        "id": c.pk,
        "tracking_number": c.tracking_number,
        "status": c.status,
        "status_label": c.get_status_display(),
        "category": c.category.code,
        "category_label": c.category.name_zh,
        "institution": {
            "id": c.institution.pk,
            "name": c.institution.name,
            "status": c.institution.status,
            "confirmed": c.institution_confirmed,
        },
        "town": {"id": c.town.pk, "name": c.town.name},
        "handler": {"id": c.handler.pk, "name": c.handler.name} if c.handler_id else None,
        "created_at": c.created_at,
        "due_on": c.sla_due_on,
        "overdue": bool(c.sla_due_on and c.status in OPEN_STATUSES and c.paused_since is None and c.sla_due_on < today),
        "paused": c.paused_since is not None,
        "outcome": c.outcome or None,
    }


LIST_COLUMNS = (
    "id",
    "tracking_number",
    "status",
    "category_id",
    "institution_id",
    "institution__name",
    "institution__status",
    "institution_confirmed",
    "town_id",
    "handler_id",
    "handler__name",
    "created_at",
    "sla_due_on",
    "paused_since",
    "outcome",
)
STATUS_LABELS = dict(ComplaintStatus.choices)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _row_item(row: tuple, today: date) -> dict:
    """A list row from plain values (no model instances: the handler's list is a hot path)."""
    (pk, number, status, category_id, inst_id, inst_name, inst_status, confirmed, town_id, handler_id,
     handler_name, created_at, due_on, paused_since, outcome) = row  # fmt: skip
    cat_code, cat_name = selectors.category_names(category_id)
    return {
        "id": pk,
        "tracking_number": number,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "category": cat_code,
        "category_label": cat_name,
        "institution": {"id": inst_id, "name": inst_name, "status": inst_status, "confirmed": confirmed},
        "town": {"id": town_id, "name": scope.region_name(town_id)},
        "handler": {"id": handler_id, "name": handler_name} if handler_id else None,
        "created_at": created_at.astimezone(SHANGHAI).isoformat(),
        "due_on": due_on.isoformat() if due_on else None,
        "overdue": bool(due_on and status in OPEN_STATUSES and paused_since is None and due_on < today),
        "paused": paused_since is not None,
        "outcome": outcome or None,
    }


@router.get("/complaints", response={200: ComplaintPage, **ERRORS}, summary="投诉列表 Complaints I may see")
def list_complaints(request, filters: Query[ComplaintFilters]):
    qs = selectors.complaint_list_for(
        request.auth,
        status=filters.status,
        mine=filters.mine,
        queue=filters.queue,
        overdue=filters.overdue,
        q=filters.q,
    )
    size = min(filters.page_size, settings.API_PAGE_SIZE_MAX)
    start = (filters.page - 1) * size
    today = timezone.localdate()

    def compute() -> bytes:
        rows = qs.values_list(*LIST_COLUMNS)[start : start + size]
        body = {"items": [_row_item(row, today) for row in rows], "count": qs.order_by().count()}
        # Built from typed columns in the shape of ComplaintPage (the fuzz test checks it against the schema), so it
        # is written as JSON directly instead of being validated again row by row.
        return json.dumps(body, cls=LocalTimeEncoder, ensure_ascii=False).encode()

    user = request.auth
    key = ("list", user.pk, tuple(memberships_of(user)), filters.model_dump_json(), today)
    return HttpResponse(complaint_cache.cached_list(key, compute), content_type="application/json; charset=utf-8")


class PhotoOut(Schema):
    id: int
    state: Literal["processing", "ready", "failed"]
    url: str | None
    thumbnail_url: str | None
    width: int
    height: int


class MergedRef(Schema):
    tracking_number: str
    status: StatusCode


class ContactOut(Schema):
    name: str
    phone: str


class DuplicateOut(Schema):
    id: int
    tracking_number: str
    status: StatusCode
    created_at: datetime


class StatementOut(Schema):
    id: int
    question: str
    due_on: date
    state: Literal["open", "answered"]
    statement: str
    answered_at: datetime | None
    created_at: datetime


class ComplaintOut(ComplaintListItem):
    description: str
    occurred_at: datetime
    latitude: float | None
    longitude: float | None
    child_grade: str | None
    disclose_identity: bool
    version: int = Field(..., description="每次变更加一；操作时可回传以防覆盖他人的修改 / send back to act safely")
    sla_phase: str | None
    working_days_left: int | None
    rejection_reason: str | None
    merged_into: MergedRef | None
    outcome_label: str | None
    referred_to: str
    answer: str
    answered_at: datetime | None
    reopen_until: datetime | None
    reopened_at: datetime | None
    reopen_comment: str
    rating: int | None
    rating_comment: str
    closed_at: datetime | None
    closed_how: str | None
    photos: list[PhotoOut]
    actions: list[str] = Field(..., description="您现在可执行的操作 / actions open to you now")
    parent_contact: ContactOut | None = Field(..., description="仅承办方可见 / bureau only")
    possible_duplicates: list[DuplicateOut]
    statements: list[StatementOut]
    inspection_id: int | None


def _photo_out(c: Complaint, p: ComplaintPhoto) -> dict:
    base = f"/api/v1/complaints/{c.pk}/photos/{p.pk}"
    ready = p.state == ComplaintPhoto.State.READY
    return {
        "id": p.pk,
        "state": p.state,
        "url": base if ready else None,
        "thumbnail_url": f"{base}?size=thumb" if ready else None,
        "width": p.width,
        "height": p.height,
    }


def complaint_out(user, c: Complaint) -> dict:
    today = timezone.localdate()
    handler_view = scope.is_bureau(user) and c.parent_id != user.pk
    reopen_until = None
    if c.status == ComplaintStatus.ANSWERED and c.reopened_at is None and c.answered_at:
        reopen_until = c.answered_at + timezone.timedelta(days=sla.reopen_days())
    merged = c.merged_into
    return {
        **_list_item(c, today),
        "description": c.description,
        "occurred_at": c.occurred_at,
        "latitude": float(c.latitude) if c.latitude is not None else None,
        "longitude": float(c.longitude) if c.longitude is not None else None,
        "child_grade": c.child_grade or None,
        "disclose_identity": c.disclose_identity,
        "version": c.version,
        "sla_phase": c.sla_phase or None,
        "working_days_left": (
            sla.working_days_between(today, c.sla_due_on) if c.sla_due_on and c.status in OPEN_STATUSES else None
        ),
        "rejection_reason": c.rejection_reason or None,
        "merged_into": {"tracking_number": merged.tracking_number, "status": merged.status} if merged else None,
        "outcome_label": c.get_outcome_display() if c.outcome else None,
        "referred_to": c.referred_to,
        "answer": c.answer,
        "answered_at": c.answered_at,
        "reopen_until": reopen_until,
        "reopened_at": c.reopened_at,
        "reopen_comment": c.reopen_comment,
        "rating": c.rating,
        "rating_comment": c.rating_comment,
        "closed_at": c.closed_at,
        "closed_how": c.closed_how or None,
        "photos": [_photo_out(c, p) for p in c.photos.all()],
        "actions": permissions.allowed_actions(user, c),
        "parent_contact": {"name": c.parent.name, "phone": c.parent.phone or ""} if handler_view else None,
        "possible_duplicates": (
            list(selectors.possible_duplicates(c).values("id", "tracking_number", "status", "created_at"))
            if handler_view
            else []
        ),
        "statements": (
            list(
                c.statement_requests.order_by("created_at", "id").values(
                    "id", "question", "due_on", "state", "statement", "answered_at", "created_at"
                )
            )
            if handler_view
            else []
        ),
        "inspection_id": c.inspection_id if handler_view else None,
    }


def _detail(user, complaint_id: int) -> dict:
    c = permissions.access_complaint(user, complaint_id)
    out = complaint_out(user, selectors.complaint_detail(c.pk))
    if out["parent_contact"] is not None:
        services.personal_data_viewed(actor=user, obj=c, fields=["parent.name", "parent.phone"])
    return out


@router.get("/complaints/{complaint_id}", response={200: ComplaintOut, **ERRORS}, summary="投诉详情 Complaint")
def get_complaint(request, complaint_id: int):
    return _detail(request.auth, complaint_id)


# --- Actions -------------------------------------------------------------------------------------------------------


class ActionIn(Schema):
    action: ActionCode
    version: int | None = Field(None, ge=1, le=2**31, description="读取时的版本；已被他人修改则 409")
    reason: Literal["out_of_remit", "insufficient_information", "duplicate"] | None = Field(None, description="reject")
    comment: str | None = Field(None, max_length=services.COMMENT_MAX, description="reject, reopen, rate")
    duplicate_of: int | None = Field(None, ge=1, le=MAX_ID, description="merge / reject duplicate: 保留的投诉 id")
    handler_id: int | None = Field(None, ge=1, le=MAX_ID, description="assign: 承办人（默认本人）")
    institution_confirmed: bool | None = Field(None, description="accept: 机构是否已核实")
    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="confirm_institution: 更正为名录中的机构")
    outcome: Literal["substantiated", "partly_substantiated", "not_substantiated", "referred"] | None = None
    answer: str | None = Field(None, max_length=services.ANSWER_MAX, description="answer: 答复内容")
    referred_to: str | None = Field(
        None, max_length=services.REFERRED_TO_MAX, description="answer referred: 移送部门名称"
    )
    rating: int | None = Field(None, ge=1, le=5, description="rate: 1–5")


@router.post(
    "/complaints/{complaint_id}/actions",
    response={200: ComplaintOut, **ERRORS},
    summary="办理操作 Act on a complaint (accept, reject, assign, start, answer, reopen, rate, merge, …)",
)
def act_on_complaint(request, payload: ActionIn, complaint_id: int):
    data = payload.dict(exclude_none=True)
    action, version = data.pop("action"), data.pop("version", None)
    services.complaint_act(
        actor=request.auth, complaint_id=complaint_id, action=action, data=data, expected_version=version
    )
    return _detail(request.auth, complaint_id)


# --- Messages ------------------------------------------------------------------------------------------------------


class MessageIn(Schema):
    body: str = Field(..., min_length=services.MESSAGE_MIN, max_length=services.MESSAGE_MAX)
    awaiting_parent: bool = Field(False, description="承办人：请家长补充，暂停计时 / handler: pause until the reply")


class MessageOut(Schema):
    id: int
    side: Literal["parent", "bureau"]
    author: str
    body: str
    awaiting_parent: bool
    created_at: datetime


def _message_out(m: ComplaintMessage) -> dict:
    author = "家长" if m.side == ComplaintMessage.Side.PARENT else m.author.name
    return {
        "id": m.pk,
        "side": m.side,
        "author": author,
        "body": m.body,
        "awaiting_parent": m.awaiting_parent,
        "created_at": m.created_at,
    }


@router.get(
    "/complaints/{complaint_id}/messages",
    response={200: list[MessageOut], **ERRORS},
    summary="沟通记录 Messages between the parent and the bureau",
)
def list_messages(request, complaint_id: int):
    c = permissions.access_complaint(request.auth, complaint_id)
    return [_message_out(m) for m in c.messages.select_related("author").order_by("created_at", "id")]


@router.post(
    "/complaints/{complaint_id}/messages",
    response={201: MessageOut, **ERRORS},
    summary="留言 Write in the thread",
)
def post_message(request, payload: MessageIn, complaint_id: int):
    m = services.complaint_message_post(
        actor=request.auth, complaint_id=complaint_id, body=payload.body, awaiting_parent=payload.awaiting_parent
    )
    return Status(201, _message_out(m))


# --- Photos --------------------------------------------------------------------------------------------------------

IMAGE_RESPONSE = {
    "responses": {
        200: {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    }
}


@router.get(
    "/complaints/{complaint_id}/photos/{photo_id}",
    response={**ERRORS},
    summary="投诉照片 A photo (cleaned of EXIF), or its thumbnail with ?size=thumb",
    openapi_extra=IMAGE_RESPONSE,
)
def get_photo(
    request,
    complaint_id: int,
    photo_id: int,
    size: Literal["full", "thumb"] = "full",
):
    c = permissions.access_complaint(request.auth, complaint_id)
    photo = ComplaintPhoto.objects.filter(complaint=c, pk=photo_id, state=ComplaintPhoto.State.READY).first()
    if photo is None:
        raise NotFound(_("照片不存在"))
    field = photo.thumbnail if size == "thumb" else photo.image
    name = f"{c.tracking_number}-{photo.pk}{'-thumb' if size == 'thumb' else ''}.jpg"
    return uploaded_file_response(
        field.open("rb"), content_type="image/jpeg", filename=name, cache="private, max-age=3600"
    )


# --- Statements from the institution -------------------------------------------------------------------------------


class StatementRequestIn(Schema):
    question: str = Field(..., min_length=services.QUESTION_MIN, max_length=services.QUESTION_MAX)
    due_working_days: int | None = Field(None, ge=1, le=30)


class StatementForInstitution(Schema):
    id: int
    institution: Ref
    category_label: str
    occurred_on: date
    question: str
    due_on: date
    state: Literal["open", "answered"]
    statement: str
    answered_at: datetime | None
    created_at: datetime
    complainant: ContactOut | None = Field(..., description="仅当家长同意时提供 / only if the parent allowed it")


class StatementPage(Schema):
    items: list[StatementForInstitution]
    count: int


def _statement_for_institution(r: StatementRequest) -> dict:
    c = r.complaint
    return {
        "id": r.pk,
        "institution": {"id": r.institution.pk, "name": r.institution.name},
        "category_label": c.category.name_zh,
        "occurred_on": timezone.localtime(c.occurred_at).date(),
        "question": r.question,
        "due_on": r.due_on,
        "state": r.state,
        "statement": r.statement,
        "answered_at": r.answered_at,
        "created_at": r.created_at,
        # Never the parent's identity unless the parent allowed it when filing.
        "complainant": {"name": c.parent.name, "phone": c.parent.phone or ""} if c.disclose_identity else None,
    }


@router.post(
    "/complaints/{complaint_id}/statement-requests",
    response={201: StatementOut, **ERRORS},
    summary="请机构说明情况 Ask the institution for a statement (handler)",
)
def request_statement(request, payload: StatementRequestIn, complaint_id: int):
    r = services.statement_request_create(
        actor=request.auth,
        complaint_id=complaint_id,
        question=payload.question,
        due_working_days=payload.due_working_days,
    )
    return Status(
        201,
        {
            "id": r.pk,
            "question": r.question,
            "due_on": r.due_on,
            "state": r.state,
            "statement": r.statement,
            "answered_at": r.answered_at,
            "created_at": r.created_at,
        },
    )


class StatementFilters(PageParams):
    state: Literal["open", "answered"] | None = None


@router.get(
    "/statement-requests",
    response={200: StatementPage, **ERRORS},
    summary="本机构待说明事项 Statement requests to my institution (institution staff)",
)
def list_statement_requests(request, filters: Query[StatementFilters]):
    qs = selectors.statements_visible_to(request.auth).order_by("-created_at", "-id")
    if filters.state:
        qs = qs.filter(state=filters.state)
    page = paginate(qs, filters)
    return {"items": [_statement_for_institution(r) for r in page["items"]], "count": page["count"]}


@router.get(
    "/statement-requests/{request_id}",
    response={200: StatementForInstitution, **ERRORS},
    summary="说明请求 One statement request (institution staff)",
)
def get_statement_request(request, request_id: int):
    r = permissions.access_statement(request.auth, request_id)
    if r.complaint.disclose_identity:
        services.personal_data_viewed(actor=request.auth, obj=r.complaint, fields=["parent.name", "parent.phone"])
    return _statement_for_institution(r)


class StatementAnswerIn(Schema):
    statement: str = Field(..., min_length=services.STATEMENT_MIN, max_length=services.STATEMENT_MAX)


@router.post(
    "/statement-requests/{request_id}/answer",
    response={200: StatementForInstitution, **ERRORS},
    summary="提交情况说明 Answer a statement request (institution staff)",
)
def answer_statement_request(request, payload: StatementAnswerIn, request_id: int):
    services.statement_answer(actor=request.auth, request_id=request_id, statement=payload.statement)
    return _statement_for_institution(permissions.access_statement(request.auth, request_id))


# --- Routing table -------------------------------------------------------------------------------------------------


class RoutingRuleOut(Schema):
    id: int
    town: Ref | None
    category: str | None
    category_label: str | None
    handler: Ref


class RoutingRuleIn(Schema):
    town_id: int | None = Field(None, ge=1, le=MAX_ID, description="空 = 全区 / empty: every town")
    category: str | None = Field(None, max_length=30, description="空 = 全部类别 / empty: every category")
    handler_id: int = Field(..., ge=1, le=MAX_ID)


def _rule_out(r: RoutingRule) -> dict:
    return {
        "id": r.pk,
        "town": {"id": r.town.pk, "name": r.town.name} if r.town_id else None,
        "category": r.category.code if r.category_id else None,
        "category_label": r.category.name_zh if r.category_id else None,
        "handler": {"id": r.handler.pk, "name": r.handler.name},
    }


@router.get(
    "/complaint-routing",
    response={200: list[RoutingRuleOut], **ERRORS},
    summary="投诉分派规则 Routing table (bureau)",
)
def list_routing(request):
    permissions.require_routing_reader(request.auth)
    rules = RoutingRule.objects.filter(is_active=True).select_related("town", "category", "handler")
    return [_rule_out(r) for r in rules.order_by("town__code", "category__sort_order", "id")]


@router.post(
    "/complaint-routing",
    response={201: RoutingRuleOut, **ERRORS},
    summary="设置分派规则 Set the handler for a town and category (district supervisor)",
)
def set_routing(request, payload: RoutingRuleIn):
    rule = services.routing_rule_set(
        actor=request.auth, town_id=payload.town_id, category=payload.category, handler_id=payload.handler_id
    )
    return Status(201, _rule_out(RoutingRule.objects.select_related("town", "category", "handler").get(pk=rule.pk)))


@router.delete(
    "/complaint-routing/{rule_id}",
    response={204: None, **ERRORS},
    summary="删除分派规则 Remove a routing rule (district supervisor)",
)
def delete_routing(request, rule_id: int):
    permissions.require_routing_admin(request.auth)
    services.routing_rule_delete(actor=request.auth, rule_id=rule_id)
    return Status(204, None)
