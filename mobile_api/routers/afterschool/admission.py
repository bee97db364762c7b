"""Admission of outside personnel (校外人员准入): applicants (individuals, third-party institutions' staff) draft,
add documents and submit; the school then the bureau review; the bureau suspends, revokes and imports the
prohibited-persons register. Documents are served to the reviewers of the application only, each view audited.
The list of admitted third-party institutions is public (individuals are never listed)."""

from __future__ import annotations

from datetime import date as Date
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from afterschool.admission import permissions, register, selectors, services
from afterschool.admission.models import Admission, AdmissionDocument, AdmissionReason
from core.http import uploaded_file_response
from core.money import fmt_optional
from institutions import public_cache

from ...api_json import to_json
from ...multipart import multipart_body, read_parts
from ...pagination import PageParams, paginate
from ...schemas import MAX_ID, ErrorOut
from .common import ERRORS

router = Router(tags=["admission 校外人员准入"])

UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut, 415: ErrorOut}
DocumentKind = Literal[tuple(AdmissionDocument.Kind.values)]  # type: ignore[valid-type]
ReasonCode = Literal[tuple(AdmissionReason.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(Admission.Status.values)]  # type: ignore[valid-type]


class QualificationIn(Schema):
    kind: str = Field(..., min_length=1, max_length=50, description="如 教师资格证 / 教练员证")
    number: str = Field(..., min_length=1, max_length=50)
    issuer: str = Field(..., min_length=1, max_length=100)
    expires_on: Date | None = None


class AdmissionIn(Schema):
    school_id: int = Field(..., ge=1, le=MAX_ID)
    name: str = Field(..., min_length=1, max_length=50)
    id_number: str = Field(..., min_length=1, max_length=30, description="居民身份证号（仅保存密钥哈希与后四位）")
    phone: str = Field("", pattern=r"^(1\d{10})?$")
    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="第三方机构（由其工作人员申请）")
    programme_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field([], max_length=50)
    paid: bool = True
    qualifications: list[QualificationIn] = Field([], max_length=20)
    record_issuer: str = Field("", max_length=100)
    record_issued_on: Date | None = None
    health_issuer: str = Field("", max_length=100)
    health_issued_on: Date | None = None
    consent_signed: bool = False
    fee_per_lesson: Decimal | None = Field(None, ge=0, le=999999, decimal_places=2)
    market_price: Decimal | None = Field(None, ge=0, le=999999, decimal_places=2)


class DocumentOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int


class AdmissionOut(Schema):
    id: int
    status: str
    status_label: str
    name: str
    id_number: str = Field(..., description="掩码 masked")
    school_id: int
    school_name: str
    institution_id: int | None
    institution_name: str | None
    programme_ids: list[int]
    paid: bool
    qualifications: list[dict]
    record_issuer: str
    record_issued_on: Date | None
    health_issuer: str
    health_issued_on: Date | None
    consent_signed: bool
    fee_per_lesson: str | None
    market_price: str | None
    message: str
    register_hits: int
    register_warnings: list[dict]
    valid_from: Date | None
    valid_until: Date | None
    reason: str
    renewal_of: int | None
    outside_person_id: int
    documents: list[DocumentOut]


class AdmissionPage(Schema):
    items: list[AdmissionOut]
    count: int


_money = fmt_optional  # amounts leave as text to the fen, "120.00"


def admission_out(a: Admission, *, reviewer: bool) -> dict:
    return {
        "id": a.pk,
        "status": a.status,
        "status_label": a.get_status_display(),
        "name": a.person.name,
        "id_number": a.person.masked_id,
        "school_id": a.school_id,
        "school_name": a.school.name,
        "institution_id": a.institution_id,
        "institution_name": a.institution.name if a.institution_id else None,
        "programme_ids": [p.pk for p in a.programmes.all()],
        "paid": a.paid,
        "qualifications": a.qualifications,
        "record_issuer": a.record_issuer,
        "record_issued_on": a.record_issued_on,
        "health_issuer": a.health_issuer,
        "health_issued_on": a.health_issued_on,
        "consent_signed": a.consent_signed,
        "fee_per_lesson": _money(a.fee_per_lesson),
        "market_price": _money(a.market_price),
        "message": a.message,
        "register_hits": len(a.register_hits) if reviewer else 0,
        "register_warnings": a.register_warnings if reviewer else [],
        "valid_from": a.valid_from,
        "valid_until": a.valid_until,
        "reason": a.reason,
        "renewal_of": a.renewal_of_id,
        "outside_person_id": a.person_id,
        "documents": [
            {"id": d.pk, "kind": d.kind, "content_type": d.content_type, "size": d.size} for d in a.documents.all()
        ],
    }


def _reload(user, pk: int) -> dict:
    a = (
        Admission.objects.select_related("person", "school__town", "institution")
        .prefetch_related("programmes", "documents")
        .get(pk=pk)
    )
    return admission_out(a, reviewer=permissions.is_reviewer(user, a))


@router.post(
    "/admissions",
    response={201: AdmissionOut, **ERRORS},
    summary="新建准入申请（草稿）Start an admission application (draft)",
)
def create_admission(request, payload: AdmissionIn):
    data = payload.dict()
    data["qualifications"] = [q for q in data["qualifications"]]
    a = services.admission_create(actor=request.auth, **data)
    return Status(201, _reload(request.auth, a.pk))


class AdmissionFilters(PageParams):
    status: StatusCode | None = None
    school_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/admissions", response={200: AdmissionPage, **ERRORS}, summary="准入申请列表 Applications I may see")
def list_admissions(request, filters: Query[AdmissionFilters]):
    qs = selectors.admissions_visible_to(request.auth)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.school_id:
        qs = qs.filter(school_id=filters.school_id)
    qs = (
        qs.select_related("person", "school__town", "institution")
        .prefetch_related("programmes", "documents")
        .order_by("-created_at", "-id")
    )
    page = paginate(qs, filters)
    items = [admission_out(a, reviewer=permissions.is_reviewer(request.auth, a)) for a in page["items"]]
    return {"items": items, "count": page["count"]}


@router.get("/admissions/{admission_id}", response={200: AdmissionOut, **ERRORS}, summary="准入申请 One application")
def get_admission(request, admission_id: int):
    a = permissions.access_admission(request.auth, admission_id)
    return _reload(request.auth, a.pk)


class AdmissionUpdateIn(Schema):
    programme_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, max_length=50)
    paid: bool | None = None
    qualifications: list[QualificationIn] | None = Field(None, max_length=20)
    record_issuer: str | None = Field(None, max_length=100)
    record_issued_on: Date | None = None
    health_issuer: str | None = Field(None, max_length=100)
    health_issued_on: Date | None = None
    consent_signed: bool | None = None
    fee_per_lesson: Decimal | None = Field(None, ge=0, le=999999, decimal_places=2)
    market_price: Decimal | None = Field(None, ge=0, le=999999, decimal_places=2)


@router.patch(
    "/admissions/{admission_id}",
    response={200: AdmissionOut, **ERRORS},
    summary="修改草稿或退回的申请（如续期时的新证明）Complete a draft or a returned application",
)
def update_admission(request, admission_id: int, payload: AdmissionUpdateIn):
    a = permissions.access_admission(request.auth, admission_id)
    changes = payload.dict(exclude_unset=True)
    for key in ("paid", "consent_signed", "programme_ids", "qualifications", "record_issuer", "health_issuer"):
        if key in changes and changes[key] is None:
            del changes[key]  # null for these means "leave as it is"
    services.admission_update(actor=request.auth, admission=a, **changes)
    return _reload(request.auth, a.pk)


@router.post(
    "/admissions/{admission_id}/documents",
    response={201: DocumentOut, **UPLOAD_ERRORS},
    summary="上传材料（图片或 PDF）Add a document (image or PDF)",
    openapi_extra=multipart_body({"kind": DocumentKind}, ("file",)),
)
def add_document(request, admission_id: int):
    a = permissions.access_admission(request.auth, admission_id)  # before the body is read: strangers get 404
    parts = read_parts(request, {"kind": DocumentKind}, ("file",))
    d = services.document_add(actor=request.auth, admission=a, kind=parts["kind"], upload=parts["file"])
    return Status(201, {"id": d.pk, "kind": d.kind, "content_type": d.content_type, "size": d.size})


@router.get(
    "/admissions/{admission_id}/documents/{document_id}",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: {"description": "文件 the file", "content": {"application/pdf": {}}}}},
    summary="查看材料（仅审核人，记录每次查看）View a document (reviewers only, each view logged)",
)
def view_document(request, admission_id: int, document_id: int):
    a = permissions.access_admission(request.auth, admission_id)
    d = services.document_open(actor=request.auth, admission=a, document_id=document_id)
    name = f"admission-{a.pk}-{d.kind}-{d.pk}.{'pdf' if d.content_type == 'application/pdf' else 'jpg'}"
    return uploaded_file_response(d.file.open("rb"), content_type=d.content_type, filename=name)


@router.post("/admissions/{admission_id}/submit", response={200: AdmissionOut, **ERRORS}, summary="提交申请 Submit")
def submit_admission(request, admission_id: int):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_submit(actor=request.auth, admission=a)
    return _reload(request.auth, a.pk)


class ReviewIn(Schema):
    approve: bool
    message: str = Field("", max_length=500)


@router.post(
    "/admissions/{admission_id}/school-review",
    response={200: AdmissionOut, **ERRORS},
    summary="学校审核（通过或退回补充）School review (approve or return)",
)
def school_review(request, admission_id: int, payload: ReviewIn):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_school_review(actor=request.auth, admission=a, **payload.dict())
    return _reload(request.auth, a.pk)


@router.post(
    "/admissions/{admission_id}/bureau-review",
    response={200: AdmissionOut, **ERRORS},
    summary="教育局审核（准入或退回补充）Bureau review (admit or return)",
)
def bureau_review(request, admission_id: int, payload: ReviewIn):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_bureau_review(actor=request.auth, admission=a, **payload.dict())
    return _reload(request.auth, a.pk)


class ReasonIn(Schema):
    reason: ReasonCode
    note: str = Field("", max_length=200)


@router.post(
    "/admissions/{admission_id}/suspend",
    response={200: AdmissionOut, **ERRORS},
    summary="暂停准入（撤下其全部后续课时）Suspend (off every future session)",
)
def suspend_admission(request, admission_id: int, payload: ReasonIn):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_suspend(actor=request.auth, admission=a, **payload.dict())
    return _reload(request.auth, a.pk)


@router.post(
    "/admissions/{admission_id}/revoke",
    response={200: AdmissionOut, **ERRORS},
    summary="撤销准入（撤下其全部后续课时）Revoke (off every future session)",
)
def revoke_admission(request, admission_id: int, payload: ReasonIn):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_revoke(actor=request.auth, admission=a, **payload.dict())
    return _reload(request.auth, a.pk)


class NoteIn(Schema):
    note: str = Field("", max_length=200)


@router.post(
    "/admissions/{admission_id}/reinstate",
    response={200: AdmissionOut, **ERRORS},
    summary="恢复被暂停的准入（课时需重新安排）Lift a suspension (sessions are scheduled anew)",
)
def reinstate_admission(request, admission_id: int, payload: NoteIn):
    a = permissions.access_admission(request.auth, admission_id)
    services.admission_reinstate(actor=request.auth, admission=a, note=payload.note)
    return _reload(request.auth, a.pk)


@router.post(
    "/admissions/{admission_id}/renew",
    response={201: AdmissionOut, **ERRORS},
    summary="续期（按上次申请预填草稿）Renew (a draft pre-filled from this one)",
)
def renew_admission(request, admission_id: int):
    a = permissions.access_admission(request.auth, admission_id)
    draft = services.admission_renew(actor=request.auth, admission=a)
    return Status(201, _reload(request.auth, draft.pk))


class RegisterImportOut(Schema):
    rows: int
    added: int
    skipped: int


@router.post(
    "/admission-register/import",
    response={200: RegisterImportOut, **UPLOAD_ERRORS},
    summary="导入从业禁止名单（xlsx：姓名、身份证号、来源、列入日期）Import the prohibited-persons register",
    openapi_extra=multipart_body({}, ("file",)),
)
def import_register(request):
    register.require_register_importer(request.auth)  # before the body is read: others get 403 at once
    return register.register_import(actor=request.auth, upload=read_parts(request, {}, ("file",))["file"])


class ThirdPartyOut(Schema):
    id: int
    name: str
    credit_code: str | None
    national_platform_since: Date | None


class ThirdPartyPage(Schema):
    items: list[ThirdPartyOut]
    count: int


@router.get(
    "/admitted-third-parties",
    auth=None,
    response={200: ThirdPartyPage, 422: ErrorOut},
    summary="已准入的第三方机构（公开）Admitted third-party institutions (public)",
)
def list_admitted_third_parties(request, filters: Query[PageParams]):
    # The same for every caller: kept a few seconds per process like the public whitelist (an admission or a
    # revocation clears this process's copy at once, the others' within PUBLIC_CACHE_SECONDS).
    body = public_cache.cached("admitted-third-parties:" + filters.model_dump_json(), lambda: to_json(_page(filters)))
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _page(filters: PageParams) -> dict:
    page = paginate(
        selectors.admitted_third_parties().values("id", "name", "credit_code", "national_platform_since"), filters
    )
    return {"items": page["items"], "count": page["count"]}
