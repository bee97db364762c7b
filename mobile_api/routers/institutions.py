"""The registry over the API: a public whitelist and search, the full record for the bureau and the institution's
own staff, bureau edits, and staff proposals that take effect when the bureau approves them."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from core.errors import DomainError
from institutions import permissions, public_cache, selectors, services
from institutions.models import Category, ChangeProposal, Institution, effective_status
from institutions.models import Status as InstitutionStatus

from ..api_json import to_json
from ..auth import BearerAuth
from ..pagination import PageParams, paginate
from ..schemas import MAX_ID, ErrorOut

router = Router(tags=["institutions 培训机构"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def anonymous(request):
    """The list is public: without a token the caller is anonymous (a bad token still answers 401)."""
    return AnonymousUser()


PUBLIC_OR_SIGNED_IN = [BearerAuth(), anonymous]

CategoryCode = Literal["subject", "sports", "arts", "science", "other"]
ModeCode = Literal["offline", "online", "both"]
StatusCode = Literal["applied", "licensed", "rectifying", "suspended", "revoked", "expired", "closed", "unlicensed"]


class TownOut(Schema):
    id: int
    code: str
    name: str


class InstitutionListItem(Schema):
    id: int
    name: str
    category: str
    category_label: str
    mode: str
    status: str
    status_label: str
    town: TownOut
    address: str
    licence_number: str
    licence_expires_on: date | None
    latitude: Decimal | None
    longitude: Decimal | None
    distance_km: float | None = None
    risk_grade: str | None = None


class InstitutionPage(Schema):
    items: list[InstitutionListItem]
    count: int


class InstitutionFilters(PageParams):
    town_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: CategoryCode | None = None
    status: StatusCode | None = None
    q: str | None = Field(None, max_length=50, description="名称、拼音首字母或信用代码 / name, pinyin initials, code")
    lat: float | None = Field(None, ge=3.8, le=53.6)
    lng: float | None = Field(None, ge=73.5, le=135.1)
    radius_km: float = Field(5, gt=0, le=50)


def _list_item(inst: Institution, show_risk: bool) -> dict:
    return {
        "id": inst.pk,
        "name": inst.name,
        "category": inst.category,
        "category_label": inst.get_category_display(),
        "mode": inst.mode,
        "status": inst.current_status,  # the effective status: an expired licence reads expired at once
        "status_label": inst.get_current_status_display(),
        "town": {"id": inst.town.pk, "code": inst.town.code, "name": inst.town.name},
        "address": inst.address,
        "licence_number": inst.licence_number,
        "licence_expires_on": inst.licence_expires_on,
        "latitude": inst.latitude,
        "longitude": inst.longitude,
        "distance_km": round(inst.distance_km, 3) if getattr(inst, "distance_km", None) is not None else None,
        "risk_grade": inst.risk_grade if show_risk else None,
    }


# A list page is read as plain values, not model instances: the whitelist is the registry's busiest read.
LIST_COLUMNS = (
    "id", "name", "category", "mode", "status", "town_id", "town__code", "town__name", "address", "licence_number",
    "licence_expires_on", "latitude", "longitude", "risk_grade",
)  # fmt: skip
CATEGORY_LABELS = {value: str(label) for value, label in Category.choices}
STATUS_LABELS = {value: str(label) for value, label in InstitutionStatus.choices}


def _list_row(row: dict, show_risk: bool, today=None) -> dict:
    distance = row.get("distance_km")
    status = effective_status(row["status"], row["licence_expires_on"], today or timezone.localdate())
    return {
        "id": row["id"],
        "name": row["name"],
        "category": row["category"],
        "category_label": CATEGORY_LABELS.get(row["category"], row["category"]),
        "mode": row["mode"],
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "town": {"id": row["town_id"], "code": row["town__code"], "name": row["town__name"]},
        "address": row["address"],
        "licence_number": row["licence_number"],
        "licence_expires_on": row["licence_expires_on"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "distance_km": round(distance, 3) if distance is not None else None,
        "risk_grade": row["risk_grade"] if show_risk else None,
    }


def filter_institutions(qs, filters: InstitutionFilters):
    qs = selectors.filter_registry(
        qs, town_id=filters.town_id, category=filters.category, status=filters.status, q=filters.q
    )
    if (filters.lat is None) != (filters.lng is None):
        raise DomainError(
            "request.invalid",
            _("lat 与 lng 须同时提供"),
            status=422,
            fields={"lat": _("须与 lng 同时提供")},
        )
    if filters.lat is not None:
        qs = selectors.near(qs, filters.lat, filters.lng, filters.radius_km)
    return qs


@router.get(
    "/institutions",
    auth=PUBLIC_OR_SIGNED_IN,
    response={200: InstitutionPage, 401: ErrorOut, 422: ErrorOut},
    summary="机构名录与搜索 Registry list and search",
)
def list_institutions(request, filters: Query[InstitutionFilters]):
    user = request.auth
    signed_in = bool(getattr(user, "pk", None))
    if not signed_in:
        # The public whitelist is the same for every anonymous caller: kept a few seconds per process, as JSON
        # checked against the schema when it was made.
        # The rows are built to the schema by _list_row (a test holds them to it): no per-row validation here.
        key = "list:" + filters.model_dump_json()
        body = public_cache.cached(key, lambda: to_json(_institution_page(user, filters, show_risk=False)))
        return HttpResponse(body, content_type="application/json; charset=utf-8")
    return _institution_page(user, filters, show_risk=permissions.supervises(user))


def _institution_page(user, filters: InstitutionFilters, *, show_risk: bool) -> dict:
    qs = filter_institutions(selectors.institutions_listable_by(user), filters)
    columns = (*LIST_COLUMNS, "distance_km") if filters.lat is not None else LIST_COLUMNS
    if filters.lat is None:
        qs = qs.order_by("name", "id")
    page = paginate(qs.values(*columns), filters)
    today = timezone.localdate()
    return {"items": [_list_row(row, show_risk, today) for row in page["items"]], "count": page["count"]}


class UnlicensedIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    address: str = Field(..., min_length=1, max_length=300)
    town_id: int
    found_via: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/institutions/unlicensed",
    response={201: InstitutionListItem, **ERRORS},
    summary="登记无证机构 Record an unlicensed operator (bureau, inspectors)",
)
def record_unlicensed(request, payload: UnlicensedIn):
    permissions.require_may_record_unlicensed(request.auth)
    inst = services.unlicensed_record(actor=request.auth, **payload.dict())
    return Status(201, _list_item(_reload(inst.pk), True))


# --- The full record -----------------------------------------------------------------------------------------------


class PackageOut(Schema):
    id: int
    name: str
    hours: int
    months: int
    price: Decimal


class SlotOut(Schema):
    id: int
    weekday: int
    start_time: str
    end_time: str


class CourseOut(Schema):
    id: int
    name: str
    subject: str
    category: str
    mode: str
    min_age: int | None
    max_age: int | None
    grade_range: str
    class_minutes: int
    is_active: bool
    packages: list[PackageOut]
    slots: list[SlotOut]


class StaffOut(Schema):
    id: int
    name: str
    id_number: str = Field(..., description="脱敏 / masked")
    role: str
    full_time: bool
    teacher_certificate_no: str = Field(..., description="脱敏 / masked")
    competence_proof: str
    in_service_teacher: bool
    precheck_date: date | None
    precheck_result: str
    is_active: bool


class EscrowOut(Schema):
    bank: str
    account_number: str = Field(..., description="脱敏 / masked")
    agreement_number: str
    balance: Decimal | None
    balance_reported_on: date | None


class BranchOut(Schema):
    id: int
    name: str
    address: str
    town_id: int
    approved_on: date | None


class InstitutionOut(InstitutionListItem):
    credit_code: str | None
    licence_issued_on: date | None
    legal_representative: str
    contact_phone: str
    floor_area_m2: Decimal | None
    max_students_present: int | None
    status_reason: str
    status_changed_at: datetime | None
    found_via: str
    on_national_platform: bool
    national_platform_since: date | None
    branches: list[BranchOut]
    courses: list[CourseOut]
    staff: list[StaffOut]
    escrow: EscrowOut | None


def escrow_out(escrow) -> dict:
    return {
        "bank": escrow.bank,
        "account_number": escrow.masked_account,
        "agreement_number": escrow.agreement_number,
        "balance": escrow.balance,
        "balance_reported_on": escrow.balance_reported_on,
    }


def institution_record(inst: Institution) -> dict:
    courses = list(inst.courses.all().prefetch_related("packages", "slots"))
    escrow = getattr(inst, "escrow", None)  # the reverse one-to-one raises a subclass of AttributeError
    return {
        **_list_item(inst, True),
        "credit_code": inst.credit_code,
        "licence_issued_on": inst.licence_issued_on,
        "legal_representative": inst.legal_representative,
        "contact_phone": inst.contact_phone,
        "floor_area_m2": inst.floor_area_m2,
        "max_students_present": inst.max_students_present,
        "status_reason": inst.status_reason,
        "status_changed_at": inst.status_changed_at,
        "found_via": inst.found_via,
        "on_national_platform": inst.on_national_platform,
        "national_platform_since": inst.national_platform_since,
        "branches": [
            {"id": b.pk, "name": b.name, "address": b.address, "town_id": b.town_id, "approved_on": b.approved_on}
            for b in inst.branches.all()
        ],
        "courses": [
            {
                "id": c.pk,
                "name": c.name,
                "subject": c.subject,
                "category": c.category,
                "mode": c.mode,
                "min_age": c.min_age,
                "max_age": c.max_age,
                "grade_range": c.grade_range,
                "class_minutes": c.class_minutes,
                "is_active": c.is_active,
                "packages": [
                    {"id": p.pk, "name": p.name, "hours": p.hours, "months": p.months, "price": p.price}
                    for p in c.packages.all()
                ],
                "slots": [
                    {
                        "id": s.pk,
                        "weekday": s.weekday,
                        "start_time": s.start_time.strftime("%H:%M"),
                        "end_time": s.end_time.strftime("%H:%M"),
                    }
                    for s in c.slots.all()
                ],
            }
            for c in courses
        ],
        "staff": [
            {
                "id": s.pk,
                "name": s.name,
                "id_number": s.masked_id_number,
                "role": s.role,
                "full_time": s.full_time,
                "teacher_certificate_no": s.masked_certificate,
                "competence_proof": s.competence_proof,
                "in_service_teacher": s.in_service_teacher,
                "precheck_date": s.precheck_date,
                "precheck_result": s.precheck_result,
                "is_active": s.is_active,
            }
            for s in inst.staff.all()
        ],
        "escrow": escrow_out(escrow) if escrow else None,
    }


@router.get(
    "/institutions/{institution_id}",
    response={200: InstitutionOut, **ERRORS},
    summary="机构档案 The full record (bureau of its town, its own staff)",
)
def get_institution(request, institution_id: int):
    inst = selectors.access_institution_record(request.auth, institution_id)
    return institution_record(inst)


class RegistryIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    town_id: int
    credit_code: str | None = Field(None, max_length=30)
    licence_number: str = Field("", max_length=40)
    licence_issued_on: date | None = None
    licence_expires_on: date | None = None
    category: CategoryCode = "other"
    mode: ModeCode = "offline"
    legal_representative: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)
    address: str = Field("", max_length=300)
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    floor_area_m2: Decimal | None = Field(None, ge=0)
    max_students_present: int | None = Field(None, ge=0)
    status: Literal["applied", "licensed", "unlicensed"] = "applied"
    reason: str = Field("", max_length=300)


class RegistryPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    town_id: int | None = None
    credit_code: str | None = Field(None, max_length=30)
    licence_number: str | None = Field(None, max_length=40)
    licence_issued_on: date | None = None
    licence_expires_on: date | None = None
    category: CategoryCode | None = None
    mode: ModeCode | None = None
    legal_representative: str | None = Field(None, max_length=50)
    contact_phone: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=300)
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    floor_area_m2: Decimal | None = Field(None, ge=0)
    max_students_present: int | None = Field(None, ge=0)
    on_national_platform: bool | None = None
    national_platform_since: date | None = None


def _reload(pk: int) -> Institution:
    return Institution.objects.select_related("town").get(pk=pk)


@router.post("/institutions", response={201: InstitutionOut, **ERRORS}, summary="登记机构 Register (bureau)")
def register_institution(request, payload: RegistryIn):
    data = payload.dict()
    status, reason = data.pop("status"), data.pop("reason")
    inst = services.institution_register(actor=request.auth, data=data, status=status, reason=reason)
    return Status(201, institution_record(_reload(inst.pk)))


@router.patch(
    "/institutions/{institution_id}",
    response={200: InstitutionOut, **ERRORS},
    summary="修改机构信息 Edit the registry fields (bureau)",
)
def update_institution(request, institution_id: int, payload: RegistryPatch):
    selectors.access_institution_record(request.auth, institution_id)  # 404 before 403 for outsiders
    data = payload.dict(exclude_unset=True)
    services.institution_update(actor=request.auth, institution_id=institution_id, data=data)
    return institution_record(_reload(institution_id))


class StatusIn(Schema):
    to_status: StatusCode
    reason: str = Field(..., min_length=1, max_length=300)


@router.post(
    "/institutions/{institution_id}/status",
    response={200: InstitutionOut, **ERRORS},
    summary="变更状态 Change the status (bureau; with a reason, audited)",
)
def change_status(request, institution_id: int, payload: StatusIn):
    selectors.access_institution_record(request.auth, institution_id)
    services.institution_change_status(
        actor=request.auth, institution_id=institution_id, to_status=payload.to_status, reason=payload.reason
    )
    return institution_record(_reload(institution_id))


class EscrowIn(Schema):
    bank: str = Field(..., min_length=1, max_length=100)
    account_number: str = Field(..., min_length=4, max_length=40)
    agreement_number: str = Field("", max_length=60)
    balance: Decimal | None = None
    balance_reported_on: date | None = None


@router.put(
    "/institutions/{institution_id}/escrow",
    response={200: EscrowOut, **ERRORS},
    summary="资金监管账户 Escrow account (bureau)",
)
def save_escrow(request, institution_id: int, payload: EscrowIn):
    selectors.access_institution_record(request.auth, institution_id)
    escrow = services.escrow_save(actor=request.auth, institution_id=institution_id, data=payload.dict())
    return escrow_out(escrow)


# --- Changes to courses, packages, slots and staff -----------------------------------------------------------------


class ChangeIn(Schema):
    kind: Literal["course", "package", "slot", "staff"]
    action: Literal["create", "update", "delete"]
    target_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ProposalOut(Schema):
    id: int
    institution_id: int
    kind: str
    action: str
    target_id: int | None
    state: str
    diff: dict[str, Any]
    proposed_by: str
    proposed_at: datetime
    reviewed_at: datetime | None
    review_note: str
    applied_object_id: int | None


class ChangeOut(Schema):
    applied: bool
    object_id: int | None = None
    proposal: ProposalOut | None = None


def _proposal(p: ChangeProposal) -> dict:
    return {
        "id": p.pk,
        "institution_id": p.institution_id,
        "kind": p.kind,
        "action": p.action,
        "target_id": p.target_id,
        "state": p.state,
        "diff": p.diff,
        "proposed_by": str(p.proposed_by),
        "proposed_at": p.proposed_at,
        "reviewed_at": p.reviewed_at,
        "review_note": p.review_note,
        "applied_object_id": p.applied_object_id,
    }


@router.post(
    "/institutions/{institution_id}/changes",
    response={200: ChangeOut, 202: ChangeOut, **ERRORS},
    summary="修改课程/套餐/排课/人员 Change courses, packages, slots, staff",
    description="教育局工作人员直接生效（200）；机构工作人员提交变更申请，审核通过后生效（202）。"
    "Bureau staff changes apply at once (200); institution staff changes become proposals (202).",
)
def submit_change(request, institution_id: int, payload: ChangeIn):
    user = request.auth
    inst = selectors.access_institution_record(user, institution_id)
    if permissions.edits_directly(user, inst):
        object_id = services.record_change(
            actor=user,
            institution_id=inst.pk,
            kind=payload.kind,
            action=payload.action,
            target_id=payload.target_id,
            data=payload.data,
        )
        return Status(200, {"applied": True, "object_id": object_id})
    proposal = services.proposal_submit(
        actor=user,
        institution_id=inst.pk,
        kind=payload.kind,
        action=payload.action,
        target_id=payload.target_id,
        data=payload.data,
    )
    return Status(202, {"applied": False, "proposal": _proposal(proposal)})


class ProposalPage(Schema):
    items: list[ProposalOut]
    count: int


class ProposalFilters(PageParams):
    state: Literal["pending", "approved", "rejected", "withdrawn"] | None = None


@router.get(
    "/institutions/{institution_id}/proposals",
    response={200: ProposalPage, **ERRORS},
    summary="变更申请 Proposals of an institution",
)
def list_proposals(request, institution_id: int, filters: Query[ProposalFilters]):
    inst = selectors.access_institution_record(request.auth, institution_id)
    qs = ChangeProposal.objects.filter(institution=inst).select_related("proposed_by")
    if filters.state:
        qs = qs.filter(state=filters.state)
    page = paginate(qs, filters)
    return {"items": [_proposal(p) for p in page["items"]], "count": page["count"]}


class ReviewIn(Schema):
    approve: bool
    note: str = Field("", max_length=500)


@router.post(
    "/proposals/{proposal_id}/review",
    response={200: ProposalOut, **ERRORS},
    summary="审核变更申请 Approve or reject a proposal (bureau)",
)
def review_proposal(request, proposal_id: int, payload: ReviewIn):
    proposal = services.proposal_review(
        actor=request.auth, proposal_id=proposal_id, approve=payload.approve, note=payload.note
    )
    return _proposal(ChangeProposal.objects.select_related("proposed_by").get(pk=proposal.pk))
