"""The inspections API (双随机一公开): plans and draws for the bureau, visits for inspectors' phones (offline first:
`GET /inspections/assigned` then `POST /inspections/sync` and photo uploads by UUID), rectification orders and
penalties, and the public results."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from core.errors import NotFound, preferred_language
from core.http import uploaded_file_response
from core.money import fmt_optional
from supervision.inspections import checklists, penalties, permissions, plans, publication, rectification, sync
from supervision.inspections import selectors as reads

from ..multipart import multipart_body, read_parts
from ..pagination import PageParams, paginate
from ..schemas import MAX_ID, ErrorOut

router = Router(tags=["inspections 检查"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut, 415: ErrorOut}

Grade = Literal["A", "B", "C", "D"]


def _lang(request) -> str:
    return preferred_language(request.headers.get("Accept-Language"))


# --- Checklists ----------------------------------------------------------------------------------------------------


class ChecklistItemIn(Schema):
    code: str = Field(..., min_length=1, max_length=20)
    section: str = Field("", max_length=30)
    question_zh: str = Field(..., min_length=1, max_length=300)
    question_en: str = Field(..., min_length=1, max_length=300)
    answer_type: Literal["yes_no_na", "number", "text", "photo"]
    rule_id: str = Field("", max_length=20)
    severity: Literal["low", "medium", "high"] = "medium"
    public: bool = True


class ChecklistVersionIn(Schema):
    note: str = Field("", max_length=300)
    items: list[ChecklistItemIn] = Field(..., min_length=1, max_length=200)


class ChecklistVersionOut(Schema):
    id: int
    template: str
    number: int
    items: list[ChecklistItemIn]


def _version_out(version) -> dict:
    items = [{f: getattr(i, f) for f in checklists.ITEM_FIELDS} for i in version.items.order_by("position", "id")]
    return {"id": version.pk, "template": version.template.code, "number": version.number, "items": items}


@router.get(
    "/checklists/{code}", response={200: ChecklistVersionOut, **ERRORS}, summary="检查表当前版本 Current checklist"
)
def get_checklist(request, code: str):
    return _version_out(checklists.current_checklist(code[:40]))


@router.post(
    "/checklists/{code}/versions",
    response={201: ChecklistVersionOut, **ERRORS},
    summary="修订检查表（生成新版本）Revise a checklist (a new version)",
)
def revise_checklist(request, code: str, body: ChecklistVersionIn):
    version = checklists.checklist_revise(
        actor=request.auth, template_code=code[:40], items=[i.dict() for i in body.items], note=body.note
    )
    return Status(201, _version_out(version))


# --- Plans ---------------------------------------------------------------------------------------------------------


class SharesIn(Schema):
    overall: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)
    A: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)
    B: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)
    C: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)
    D: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)


class PlanIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    period_start: date
    period_end: date
    region_id: int = Field(..., ge=1, le=MAX_ID, description="负责区域（区或镇街）/ the district or a town")
    inspector_ids: list[int] = Field(..., min_length=2, max_length=500, description="检查人员库 / the pool")
    town_ids: list[int] = Field(default_factory=list, max_length=100, description="范围：镇街（空=全部）")
    categories: list[Literal["subject", "sports", "arts", "science", "other"]] = Field(default_factory=list)
    statuses: list[
        Literal["applied", "licensed", "rectifying", "suspended", "revoked", "expired", "closed", "unlicensed"]
    ] = Field(default_factory=list, description="范围：机构状态（空=已许可）")
    sampling_mode: Literal["overall", "by_grade"] = "by_grade"
    shares: SharesIn | None = Field(None, description="抽取比例，默认按 R-INSP-1：A/B/C/D 5/10/20/40 %，总体 10 %")
    team_size: int | None = Field(None, ge=2, le=10, description="每次检查人数，至少 2")
    recent_days_excluded: int | None = Field(None, ge=0, le=3650, description="近 N 天内已检查的机构不抽取")


class PlanOut(Schema):
    id: int
    name: str
    status: str
    period_start: date
    period_end: date
    sampling_mode: str
    shares: dict[str, Decimal]
    team_size: int
    recent_days_excluded: int
    checklist_version_id: int
    seed: str
    publish_on: date | None


def _plan_out(plan) -> dict:
    return {
        "id": plan.pk,
        "name": plan.name,
        "status": plan.status,
        "period_start": plan.period_start,
        "period_end": plan.period_end,
        "sampling_mode": plan.sampling_mode,
        "shares": {
            "overall": plan.share_overall,
            "A": plan.share_grade_a,
            "B": plan.share_grade_b,
            "C": plan.share_grade_c,
            "D": plan.share_grade_d,
        },
        "team_size": plan.team_size,
        "recent_days_excluded": plan.recent_days_excluded,
        "checklist_version_id": plan.checklist_version_id,
        "seed": plan.seed,
        "publish_on": plan.publish_on,
    }


@router.post("/inspection-plans", response={201: PlanOut, **ERRORS}, summary="新建检查计划 Create a plan")
def create_plan(request, body: PlanIn):
    shares = None
    if body.shares is not None:
        shares = {k: v for k, v in body.shares.dict().items() if v is not None}
    plan = plans.plan_create(
        actor=request.auth,
        name=body.name,
        period_start=body.period_start,
        period_end=body.period_end,
        region_id=body.region_id,
        inspector_ids=body.inspector_ids,
        town_ids=body.town_ids,
        categories=body.categories,
        statuses=body.statuses,
        sampling_mode=body.sampling_mode,
        shares=shares,
        team_size=body.team_size,
        recent_days_excluded=body.recent_days_excluded,
    )
    return Status(201, _plan_out(plan))


class PlanFilters(PageParams):
    status: Literal["draft", "drawn", "finished"] | None = Field(None, description="计划状态 / status")
    date_from: date | None = Field(None, description="检查期间与此日及以后相交 / period ends on or after")
    date_to: date | None = Field(None, description="检查期间与此日及以前相交 / period starts on or before")


class PlanRowOut(PlanOut):
    region_id: int
    visits_total: int
    visits_complete: int


class PlansOut(Schema):
    items: list[PlanRowOut]
    count: int


@router.get(
    "/inspection-plans",
    response={200: PlansOut, **ERRORS},
    summary="检查计划列表（镇街：本辖区；区：全部）Plans in your area",
)
def list_plans(request, filters: Query[PlanFilters]):
    qs = reads.plans_list(request.auth, status=filters.status, date_from=filters.date_from, date_to=filters.date_to)
    page = paginate(qs, filters)
    items = [
        {**_plan_out(p), "region_id": p.region_id, "visits_total": p.visits_total, "visits_complete": p.visits_complete}
        for p in page["items"]
    ]
    return {"items": items, "count": page["count"]}


@router.get("/inspection-plans/{plan_id}", response={200: PlanOut, **ERRORS}, summary="检查计划 A plan")
def get_plan(request, plan_id: int):
    return _plan_out(permissions.access_plan(request.auth, plan_id))


class DrawIn(Schema):
    seed: str | None = Field(None, max_length=100, description="随机种子（空则随机生成并记录）/ recorded seed")
    reason: str = Field("", max_length=500, description="重新抽取时必填 / required for a second draw")


class AssignmentOut(Schema):
    institution_id: int
    inspector_ids: list[int]


class DrawOut(Schema):
    plan_id: int
    draw: int
    seed: str
    assignments: list[AssignmentOut]
    strata: dict[str, dict[str, int]]
    unstaffed: list[int]
    candidates: int
    excluded_recent: int


@router.post(
    "/inspection-plans/{plan_id}/draw",
    response={201: DrawOut, **ERRORS},
    summary="随机抽取（双随机）Draw institutions and teams at random",
)
def draw_plan(request, body: DrawIn, plan_id: int):
    record = plans.plan_draw(actor=request.auth, plan_id=plan_id, seed=body.seed, reason=body.reason)
    return Status(
        201,
        {
            "plan_id": record.plan_id,
            "draw": record.number,
            **record.result,
            "candidates": record.inputs["candidates"],
            "excluded_recent": record.inputs["excluded_recent"],
        },
    )


@router.post("/inspection-plans/{plan_id}/finish", response={200: PlanOut, **ERRORS}, summary="结束计划 Finish a plan")
def finish_plan(request, plan_id: int):
    return _plan_out(plans.plan_finish(actor=request.auth, plan_id=plan_id))


class PublishIn(Schema):
    reason: str = Field("", max_length=500, description="提前公示时必填 / required before the publication day")


@router.post(
    "/inspection-plans/{plan_id}/publish",
    response={200: PlanOut, **ERRORS},
    summary="公示结果（到期或说明原因提前）Publish a finished plan's results",
)
def publish_plan(request, body: PublishIn, plan_id: int):
    return _plan_out(publication.plan_publish(actor=request.auth, plan_id=plan_id, reason=body.reason))


class InspectorOut(Schema):
    id: int
    name: str
    town_ids: list[int]
    towns: list[str]


class InspectorsOut(Schema):
    items: list[InspectorOut]
    count: int


@router.get(
    "/inspectors",
    response={200: InspectorsOut, **ERRORS},
    summary="本辖区检查人员（按姓名、镇街）Inspectors the bureau may pick, by name and town",
)
def list_inspectors(request, q: str = Query("", max_length=50), town_id: int | None = Query(None, ge=1, le=MAX_ID)):
    rows = reads.inspectors_visible_to(request.auth, q=q, town_id=town_id)
    return {"items": rows, "count": len(rows)}


# --- Ad-hoc visits, conflicts --------------------------------------------------------------------------------------


class AdhocIn(Schema):
    complaint_id: int | None = Field(None, ge=1, le=MAX_ID, description="属实的投诉 / a substantiated complaint")
    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="无证机构线索 / an unlicensed record")
    inspector_ids: list[int] = Field(..., min_length=2, max_length=10)


class VisitRef(Schema):
    id: int
    status: str
    origin: str
    institution_id: int


@router.post("/inspections", response={201: VisitRef, **ERRORS}, summary="发起专项检查 Open an ad-hoc inspection")
def open_adhoc(request, body: AdhocIn):
    visit = plans.inspection_open_adhoc(
        actor=request.auth,
        inspector_ids=body.inspector_ids,
        complaint_id=body.complaint_id,
        institution_id=body.institution_id,
    )
    return Status(
        201, {"id": visit.pk, "status": visit.status, "origin": visit.origin, "institution_id": visit.institution_id}
    )


class ConflictIn(Schema):
    institution_id: int = Field(..., ge=1, le=MAX_ID)
    reason: str = Field(..., min_length=1, max_length=300)


class ConflictOut(Schema):
    id: int
    institution_id: int


@router.post("/inspection-conflicts", response={201: ConflictOut, **ERRORS}, summary="申报利益冲突 Declare a conflict")
def declare_conflict(request, body: ConflictIn):
    row = plans.conflict_declare(actor=request.auth, institution_id=body.institution_id, reason=body.reason)
    return Status(201, {"id": row.pk, "institution_id": row.institution_id})


# --- Visits in one's scope ------------------------------------------------------------------------------------------


class VisitFilters(PageParams):
    plan_id: int | None = Field(None, ge=1, le=MAX_ID, description="检查计划 / plan")
    status: Literal["assigned", "in_progress", "awaiting_photos", "complete", "cancelled"] | None = None
    institution_id: int | None = Field(None, ge=1, le=MAX_ID)
    date_from: date | None = Field(None, description="检查期限（专项检查：发起日）起 / due (ad hoc: opened) from")
    date_to: date | None = Field(None, description="检查期限（专项检查：发起日）止 / due (ad hoc: opened) until")


class VisitRowOut(Schema):
    id: int
    plan_id: int | None
    origin: str
    status: str
    version: int
    institution_id: int
    institution_name: str
    town: str
    due_by: date | None
    checkin_at: datetime | None
    checkin_distance_m: int | None
    checkin_flagged: bool
    checkout_at: datetime | None
    completed_at: datetime | None
    result: str
    inspector_ids: list[int]
    open_conflicts: int


class VisitsOut(Schema):
    items: list[VisitRowOut]
    count: int


@router.get(
    "/inspections",
    response={200: VisitsOut, **ERRORS},
    summary="检查列表（检查人员：本人；镇街：本辖区；区：全部）Visits in your scope",
)
def list_visits(request, filters: Query[VisitFilters]):
    qs = reads.visits_list(
        request.auth,
        plan_id=filters.plan_id,
        status=filters.status,
        institution_id=filters.institution_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    page = paginate(qs, filters)
    return {"items": [reads.visit_row(v) for v in page["items"]], "count": page["count"]}


# --- The phone: assigned visits, sync, photos ---------------------------------------------------------------------


class AssignedParams(Schema):
    date_from: date | None = Field(None, description="检查期限起 / due from")
    date_to: date | None = Field(None, description="检查期限止 / due until")


@router.get(
    "/inspections/assigned",
    response={200: dict[str, Any], **ERRORS},
    summary="我的检查任务（含离线所需数据）My visits, with what the phone needs offline",
)
def assigned(request, params: Query[AssignedParams]):
    return reads.assigned_for(request.auth, date_from=params.date_from, date_to=params.date_to)


class SyncIn(Schema):
    records: list[dict[str, Any]] = Field(
        ...,
        description=(
            "最多 200 条；每条 {uuid, inspection_id, kind, client_time, base_version?, data} / up to 200 records; "
            "kind: checkin | answer | note | finding | acknowledge | checkout"
        ),
    )


class FateOut(Schema):
    uuid: str
    status: Literal["applied", "already_applied", "conflict", "rejected"]
    code: str
    message: str
    field: str
    server: dict[str, Any] | None


class SyncOut(Schema):
    results: list[FateOut]


@router.post(
    "/inspections/sync",
    response={200: SyncOut, **ERRORS, 413: ErrorOut},
    summary="同步离线记录 Send records made offline",
)
def sync_records(request, body: SyncIn):
    return {"results": sync.sync_batch(actor=request.auth, records=body.records, lang=_lang(request))}


# --- Sync conflicts: both copies kept, a reviewer settles each ------------------------------------------------------


class SyncConflictFilters(PageParams):
    inspection_id: int | None = Field(None, ge=1, le=MAX_ID)
    resolved: bool = Field(
        False, description="已处理的（true）或待处理的（false，默认）/ resolved ones, or open (default)"
    )


class SyncConflictOut(Schema):
    uuid: str
    inspection_id: int
    institution_name: str
    kind: str
    author_id: int
    author_name: str
    client_time: datetime
    received_at: datetime
    base_version: int | None
    client: dict[str, Any] = Field(..., description="手机上的版本 / the phone's copy")
    server_then: dict[str, Any] = Field(..., description="冲突时服务器上的版本 / the server copy at the time")
    server_now: dict[str, Any] = Field(..., description="服务器现在的版本 / the server copy now")
    resolved: bool
    resolution: str
    resolved_value: Any | None
    resolved_by_id: int | None
    resolved_at: datetime | None
    resolution_note: str


class SyncConflictsOut(Schema):
    items: list[SyncConflictOut]
    count: int


@router.get(
    "/inspections/sync-conflicts",
    response={200: SyncConflictsOut, **ERRORS},
    summary="同步冲突（待处理）Sync conflicts to review",
)
def list_sync_conflicts(request, filters: Query[SyncConflictFilters]):
    qs = reads.conflicts_visible_to(request.auth, inspection_id=filters.inspection_id, resolved=filters.resolved)
    page = paginate(qs, filters)
    return {"items": sync.conflict_rows(page["items"]), "count": page["count"]}


class ResolveIn(Schema):
    choice: Literal["server", "client", "merged"] = Field(
        ..., description="保留服务器版本 / 采用手机版本 / 合并后的值 (merged: answers and acknowledgements)"
    )
    value: Any = Field(None, description="合并后的值（仅 merged）/ the merged value (merged only)")
    note: str = Field("", max_length=500)
    server_version: int | None = Field(
        None, ge=0, description="查看时服务器版本（server_now.version），有变化则 409 / the server_now.version you saw"
    )


@router.post(
    "/inspections/sync-conflicts/{record_uuid}/resolve",
    response={200: SyncConflictOut, **ERRORS},
    summary="处理同步冲突 Resolve a sync conflict",
)
def resolve_sync_conflict(request, record_uuid: str, body: ResolveIn):
    value = body.value if "value" in body.model_fields_set else sync.NO_VALUE
    record, _ = sync.conflict_resolve(
        actor=request.auth,
        record_uuid=record_uuid,
        choice=body.choice,
        value=value,
        note=body.note,
        server_version=body.server_version,
    )
    record = reads.conflicts_visible_to(request.auth, resolved=True).get(pk=record.pk)
    return sync.conflict_rows([record])[0]


@router.get(
    "/inspections/{inspection_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="检查详情（含缺少的照片）A visit, with the photos still missing",
)
def get_inspection(request, inspection_id: int):
    return reads.inspection_detail(permissions.access_inspection(request.auth, inspection_id))


# A photo upload's multipart body (read by the handler after the access check: mobile_api/multipart.py).
PHOTO_FIELDS: dict[str, Any] = {"sha256": str}
PHOTO_FILES = ("file",)


class PhotoOut(Schema):
    uuid: str
    sha256: str
    stored: bool
    inspection_status: str
    missing_photos: list[str]


@router.post(
    "/inspections/{inspection_id}/photos/{photo_uuid}",
    response={200: PhotoOut, 201: PhotoOut, **UPLOAD_ERRORS},
    summary="上传检查照片（按 UUID 与 SHA-256）Upload a visit photo by UUID and SHA-256",
    openapi_extra=multipart_body(PHOTO_FIELDS, PHOTO_FILES),
)
def upload_photo(request, photo_uuid: str, inspection_id: int):
    permissions.access_assigned_inspection(request.auth, inspection_id)  # before the body is read: strangers get 404
    parts = read_parts(request, PHOTO_FIELDS, PHOTO_FILES)
    photo, stored = sync.photo_upload(
        actor=request.auth,
        inspection_id=inspection_id,
        photo_uuid=photo_uuid,
        sha256=parts["sha256"],
        upload=parts["file"],
    )
    visit = photo.inspection
    visit.refresh_from_db(fields=["status"])
    out = {
        "uuid": str(photo.uuid),
        "sha256": photo.sha256,
        "stored": stored,
        "inspection_status": visit.status,
        "missing_photos": reads.missing_photos(visit),
    }
    return Status(201 if stored else 200, out)


# --- Rectification orders, penalties -------------------------------------------------------------------------------


class OrderIn(Schema):
    due_on: date | None = Field(None, description="整改期限（默认按严重程度）/ deadline (default by severity)")
    evidence_required: str = Field(..., min_length=1, max_length=1000)


class OrderOut(Schema):
    id: int
    finding_id: int
    inspection_id: int
    institution_id: int
    institution_name: str
    status: str
    due_on: date
    overdue: bool
    evidence_required: str
    response: str
    verification_note: str
    closed_at: datetime | None
    followup_inspection_id: int | None


def _order_out(o) -> dict:
    return {
        "id": o.pk,
        "finding_id": o.finding_id,
        "inspection_id": o.finding.inspection_id,
        "institution_id": o.institution_id,
        "institution_name": o.institution.name,
        "status": o.status,
        "due_on": o.due_on,
        "overdue": rectification.is_overdue(o),
        "evidence_required": o.evidence_required,
        "response": o.response,
        "verification_note": o.verification_note,
        "closed_at": o.closed_at,
        "followup_inspection_id": o.followup_id,
    }


@router.post(
    "/findings/{finding_id}/rectification-order",
    response={201: OrderOut, **ERRORS},
    summary="责令整改 Order a rectification",
)
def order_rectification(request, body: OrderIn, finding_id: int):
    order = rectification.order_issue(
        actor=request.auth, finding_id=finding_id, due_on=body.due_on, evidence_required=body.evidence_required
    )
    return Status(201, _order_out(order))


class OrderFilters(PageParams):
    status: Literal["open", "answered", "closed"] | None = None
    institution_id: int | None = Field(None, ge=1, le=MAX_ID)
    inspection_id: int | None = Field(None, ge=1, le=MAX_ID)
    overdue: bool | None = Field(None, description="仅逾期（true）或未逾期（false）/ overdue only, or not overdue")


class OrdersOut(Schema):
    items: list[OrderOut]
    count: int


@router.get(
    "/rectification-orders",
    response={200: OrdersOut, **ERRORS},
    summary="整改通知列表（机构：本机构；检查人员：本人检查的；教育局：本辖区）Rectification orders in your scope",
)
def list_orders(request, filters: Query[OrderFilters]):
    qs = reads.orders_list(
        request.auth,
        status=filters.status,
        institution_id=filters.institution_id,
        inspection_id=filters.inspection_id,
        overdue=filters.overdue,
    )
    page = paginate(qs, filters)
    return {"items": [_order_out(o) for o in page["items"]], "count": page["count"]}


@router.get("/rectification-orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="整改通知 An order")
def get_order(request, order_id: int):
    return _order_out(permissions.access_order(request.auth, order_id))


class RespondIn(Schema):
    response: str = Field(..., min_length=1, max_length=4000)
    photo_uuids: list[str] = Field(default_factory=list, max_length=20)


@router.post(
    "/rectification-orders/{order_id}/respond",
    response={200: OrderOut, **ERRORS},
    summary="机构提交整改情况 The institution answers with evidence",
)
def respond_order(request, body: RespondIn, order_id: int):
    order = rectification.order_respond(
        actor=request.auth, order_id=order_id, response=body.response, photo_uuids=body.photo_uuids
    )
    return _order_out(order)


class EvidenceOut(Schema):
    uuid: str
    sha256: str
    stored: bool


@router.post(
    "/rectification-orders/{order_id}/photos/{photo_uuid}",
    response={200: EvidenceOut, 201: EvidenceOut, **UPLOAD_ERRORS},
    summary="上传整改佐证照片（按 UUID 与 SHA-256）Upload an evidence photo",
    openapi_extra=multipart_body(PHOTO_FIELDS, PHOTO_FILES),
)
def upload_evidence(request, order_id: int, photo_uuid: str):
    rectification.evidence_order(request.auth, order_id)  # before the body is read: strangers get 404 (or 403)
    parts = read_parts(request, PHOTO_FIELDS, PHOTO_FILES)
    row, stored = rectification.evidence_upload(
        actor=request.auth, order_id=order_id, photo_uuid=photo_uuid, sha256=parts["sha256"], upload=parts["file"]
    )
    return Status(201 if stored else 200, {"uuid": str(row.uuid), "sha256": row.sha256, "stored": stored})


class EvidencePhotoOut(Schema):
    uuid: str
    sha256: str
    size: int
    created_at: datetime


class OrderEvidenceOut(Schema):
    order_id: int
    status: str
    response: str
    responded_at: datetime | None
    photos: list[EvidencePhotoOut]


@router.get(
    "/rectification-orders/{order_id}/evidence",
    response={200: OrderEvidenceOut, **ERRORS},
    summary="整改佐证（机构的答复与照片）The institution's answer and its evidence photos",
)
def get_order_evidence(request, order_id: int):
    order = permissions.access_order(request.auth, order_id)
    photos = [
        {"uuid": str(e.uuid), "sha256": e.sha256, "size": e.size, "created_at": e.created_at}
        for e in order.evidence.all()
    ]
    return {
        "order_id": order.pk,
        "status": order.status,
        "response": order.response,
        "responded_at": order.responded_at,
        "photos": photos,
    }


@router.get(
    "/rectification-orders/{order_id}/evidence/{photo_uuid}",
    response={**ERRORS},
    summary="整改佐证照片（已去除 EXIF）An evidence photo (cleaned of EXIF)",
    openapi_extra={
        "responses": {
            200: {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
        }
    },
)
def get_order_evidence_photo(request, order_id: int, photo_uuid: str):
    order = permissions.access_order(request.auth, order_id)
    try:
        key = uuid.UUID(photo_uuid[:64])
    except ValueError:
        raise NotFound(_("照片不存在")) from None
    evidence = order.evidence.filter(uuid=key).first()
    if evidence is None:
        raise NotFound(_("照片不存在"))
    return uploaded_file_response(
        evidence.image.open("rb"),
        content_type=evidence.content_type or "image/jpeg",
        filename=f"order-{order.pk}-{evidence.uuid}.jpg",
        cache="private, max-age=3600",
    )


class FollowupIn(Schema):
    inspector_ids: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="复查人员（空则由原检查组复查）/ the team (default: the visit's)",
    )
    due_by: date | None = Field(None, description="复查期限（默认整改期限）/ due by (default: the order's deadline)")


@router.post(
    "/rectification-orders/{order_id}/followup",
    response={201: VisitRef, **ERRORS},
    summary="安排整改复查 Open the follow-up visit that verifies an order",
)
def open_followup(request, order_id: int, body: FollowupIn):
    visit = rectification.order_followup_open(
        actor=request.auth, order_id=order_id, inspector_ids=body.inspector_ids, due_by=body.due_by
    )
    return Status(
        201, {"id": visit.pk, "status": visit.status, "origin": visit.origin, "institution_id": visit.institution_id}
    )


class VerifyIn(Schema):
    accepted: bool
    note: str = Field(..., min_length=1, max_length=1000)


@router.post(
    "/rectification-orders/{order_id}/verify",
    response={200: OrderOut, **ERRORS},
    summary="核验整改并销号 Verify and close (or send back)",
)
def verify_order(request, body: VerifyIn, order_id: int):
    order = rectification.order_verify(actor=request.auth, order_id=order_id, accepted=body.accepted, note=body.note)
    return _order_out(order)


class PenaltyIn(Schema):
    institution_id: int = Field(..., ge=1, le=MAX_ID)
    inspection_id: int | None = Field(None, ge=1, le=MAX_ID)
    kind: Literal["warning", "fine", "confiscation", "stop_enrolling", "stop_operating", "revoke", "employment_ban"]
    violation: Literal["unlicensed", "disguised_subject", "other"]
    very_serious: bool = False
    legal_basis: str = Field(..., min_length=1, max_length=300)
    amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2, description="元 / yuan")
    illegal_income: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    in_service_teacher: bool = False
    obstruction: bool = False
    reason: str = Field(..., min_length=1, max_length=1000)


class PenaltyOut(Schema):
    id: int
    kind: str
    amount: str | None
    heavier_conditions: list[str]
    institution_status: str


class PenaltyFilters(PageParams):
    institution_id: int | None = Field(None, ge=1, le=MAX_ID)
    kind: (
        Literal["warning", "fine", "confiscation", "stop_enrolling", "stop_operating", "revoke", "employment_ban"]
        | None
    ) = None
    date_from: date | None = Field(None, description="决定日期起 / decided from")
    date_to: date | None = Field(None, description="决定日期止 / decided until")


class PenaltyRowOut(Schema):
    id: int
    institution_id: int
    institution_name: str
    town: str
    inspection_id: int | None
    kind: str
    violation: str
    very_serious: bool
    legal_basis: str
    amount: str | None
    illegal_income: str | None
    heavier_conditions: list[str]
    reason: str
    decided_at: datetime


class PenaltiesOut(Schema):
    items: list[PenaltyRowOut]
    count: int


_money = fmt_optional  # amounts leave as text to the fen, "120.00"


def _penalty_row(d) -> dict:
    return {
        "id": d.pk,
        "institution_id": d.institution_id,
        "institution_name": d.institution.name,
        "town": d.town.name,
        "inspection_id": d.inspection_id,
        "kind": d.kind,
        "violation": d.violation,
        "very_serious": d.very_serious,
        "legal_basis": d.legal_basis,
        "amount": _money(d.amount),
        "illegal_income": _money(d.illegal_income),
        "heavier_conditions": d.heavier_conditions,
        "reason": d.reason,
        "decided_at": d.decided_at,
    }


@router.get(
    "/penalties",
    response={200: PenaltiesOut, **ERRORS},
    summary="处罚决定列表（镇街：本辖区；区：全部；检查人员：本人检查的）Penalty decisions in your scope",
)
def list_penalties(request, filters: Query[PenaltyFilters]):
    qs = reads.penalties_list(
        request.auth,
        institution_id=filters.institution_id,
        kind=filters.kind,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    page = paginate(qs, filters)
    return {"items": [_penalty_row(d) for d in page["items"]], "count": page["count"]}


@router.get("/penalties/{penalty_id}", response={200: PenaltyRowOut, **ERRORS}, summary="处罚决定 A decision")
def get_penalty(request, penalty_id: int):
    return _penalty_row(permissions.access_penalty(request.auth, penalty_id))


@router.post("/penalties", response={201: PenaltyOut, **ERRORS}, summary="处罚决定 Record a penalty decision")
def decide_penalty(request, body: PenaltyIn):
    decision, status = penalties.penalty_decide(actor=request.auth, **body.dict())
    return Status(
        201,
        {
            "id": decision.pk,
            "kind": decision.kind,
            "amount": fmt_optional(decision.amount),
            "heavier_conditions": decision.heavier_conditions,
            "institution_status": status,
        },
    )


# --- Publication (public) ------------------------------------------------------------------------------------------


class ResultParams(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)
    institution_id: int | None = Field(None, ge=1, le=MAX_ID)


class PublicFindingOut(Schema):
    rule_id: str
    severity: str
    description: str


class PublicResultOut(Schema):
    inspection_id: int
    institution_id: int
    institution_name: str
    town: str
    plan: str
    date: date
    result: Literal["compliant", "rectification", "penalised"]
    result_label_zh: str
    result_label_en: str
    findings: list[PublicFindingOut]


class PublicResultsOut(Schema):
    items: list[PublicResultOut]
    count: int


@router.get(
    "/inspection-results",
    auth=None,
    response={200: PublicResultsOut, 422: ErrorOut},
    summary="公示的检查结果（公开）Published inspection results (public)",
)
def public_results(request, params: Query[ResultParams]):
    qs = publication.published_results()
    if params.institution_id:
        qs = qs.filter(institution_id=params.institution_id)
    start = (params.page - 1) * params.page_size
    rows = list(qs[start : start + params.page_size])
    return {"items": publication.results_page(rows), "count": qs.count()}
