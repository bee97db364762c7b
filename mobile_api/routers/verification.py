"""Public QR verification of institutions, and the QR code / poster images for those who look after them."""

import json
from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from core.errors import DomainError
from institutions import posters, public_cache, selectors, verification
from institutions import services as institution_services
from institutions.models import Poster
from institutions.tasks import build_poster

from ..api_json import LocalTimeEncoder
from ..schemas import ErrorOut

router = Router(tags=["verification 扫码核验"])

PNG_RESPONSE = {
    "responses": {
        200: {
            "description": "PNG 图片 / PNG image",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}
IMAGE_ERRORS = {401: ErrorOut, 404: ErrorOut}


class PublicStatusOut(Schema):
    code: Literal["valid", "rectifying", "suspended", "revoked", "expired", "unlicensed", "closed", "applied"]
    label_zh: str
    label_en: str
    tone: Literal["green", "orange", "red", "grey"] = Field(..., description="徽章颜色 / badge colour")
    advice_zh: str
    advice_en: str


class RuleFindingOut(Schema):
    rule_id: str = Field(..., description="规则编号 / rule id", examples=["R-FEE-1"])
    message_zh: str
    message_en: str


class PackageOut(Schema):
    name: str
    price: str = Field(..., description="元 / yuan, decimal string", examples=["3000.00"])
    hours: int
    months: int
    breaks_rules: bool = Field(
        False, description="该套餐违反收费规定（勿购买）/ the package breaks a fee rule (do not buy)"
    )
    rule_findings: list[RuleFindingOut] = Field(default_factory=list, description="违反的规定 / the rules it breaks")


class CourseOut(Schema):
    name: str
    subject: str
    category_label_zh: str
    category_label_en: str
    mode_label_zh: str
    mode_label_en: str
    grade_range: str
    class_minutes: int
    packages: list[PackageOut]


class TeacherOut(Schema):
    name: str
    certificate_no_masked: str = Field(..., description="教师资格证号（脱敏）/ teacher certificate number, masked")


class PublicInstitutionOut(Schema):
    id: int
    name: str
    status: PublicStatusOut
    category: str
    category_label_zh: str
    category_label_en: str
    address: str
    town: str
    licence_number: str
    licence_expires_on: date | None
    fees_under_escrow: bool = Field(..., description="预收费是否进入监管账户 / prepaid fees go to a supervised account")
    courses: list[CourseOut]
    teachers: list[TeacherOut]
    latest_inspection: dict[str, Any] | None = Field(None, description="最近一次公示的检查结果 latest inspection")


class VerificationOut(Schema):
    valid: bool = Field(..., description="二维码是否有效 / the code is genuine and current")
    code_state: Literal["live", "rotated"]
    message_zh: str
    message_en: str
    advice_zh: str
    advice_en: str
    checked_at: datetime
    institution: PublicInstitutionOut | None = Field(..., description="二维码无效时为空 / null when not valid")
    report_url: str = Field(..., description="举报问题 / where to report a problem")


class VerificationLinkOut(Schema):
    institution_id: int
    created_at: datetime = Field(..., description="当前二维码生成时间 / when the live code was issued")
    verify_url: str = Field(..., description="二维码指向的地址 / the address in the QR code")
    qrcode_url: str
    poster_url: str
    rotated_before: int = Field(..., description="已作废的旧二维码数 / how many earlier codes were revoked")


class RotateIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, description="更换原因 / why the code is replaced")


class RotatedOut(Schema):
    institution_id: int
    created_at: datetime
    verify_url: str = Field(..., description="新二维码指向的地址 / the address in the new QR code")
    qrcode_url: str
    poster_url: str


def _invalid_code() -> DomainError:
    return DomainError("verification.invalid", verification.INVALID, status=404)


def _png(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-cache"
    return response


@router.get(
    "/verify/{token}",
    auth=None,
    response={200: VerificationOut, 404: ErrorOut},
    summary="扫码核验机构（公开）Verify an institution by its QR token (public)",
    description=(
        "二维码有效：机构公示信息；已更换的旧二维码：valid=false，提示可能是伪造的，不含机构信息；"
        "从未发放的二维码：404 verification.invalid。每次请求计入当天扫码次数。\n\n"
        "A live code gives the institution's public record; a rotated one gives valid=false and no data; a code "
        "never issued answers 404 verification.invalid. Each call counts as a scan of the day."
    ),
)
def verify(request, token: str):
    def compute():
        found = verification.cached_verification(token)
        if found is None:
            return None
        token_id, payload = found
        return token_id, VerificationOut.model_validate(payload).model_dump()  # checked once per cached answer

    found = public_cache.cached(f"verify-json:{token}", compute)
    if found is None:
        raise _invalid_code()
    token_id, payload = found
    verification.record_scan_of(token_id)
    body = json.dumps({**payload, "checked_at": timezone.now()}, cls=LocalTimeEncoder, ensure_ascii=False)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@router.get(
    "/institutions/{institution_id}/qrcode.png",
    response=IMAGE_ERRORS,
    openapi_extra=PNG_RESPONSE,
    summary="机构核验二维码 The institution's verification QR code (PNG)",
)
def qrcode_png(request, institution_id: int):
    institution = selectors.access_institution_record(request.auth, institution_id)
    token = verification.live_token(institution)
    return _png(posters.qr_png(verification.public_address(token)), f"qrcode-{institution.pk}.png")


@router.get(
    "/institutions/{institution_id}/poster.png",
    response=IMAGE_ERRORS,
    openapi_extra=PNG_RESPONSE,
    summary="机构公示海报 The institution's printable poster (PNG, A4)",
)
def poster_png(request, institution_id: int):
    institution = selectors.access_institution_record(request.auth, institution_id)
    build_poster(institution.pk)  # synchronously, and a no-op when the stored poster is current
    poster = Poster.objects.get(institution=institution)
    with poster.image.open("rb") as handle:
        content = handle.read()
    return _png(content, f"poster-{institution.pk}.png")


def _link(institution, token) -> dict:
    return {
        "institution_id": institution.pk,
        "created_at": token.created_at,
        "verify_url": verification.public_address(token),
        "qrcode_url": f"/api/v1/institutions/{institution.pk}/qrcode.png",
        "poster_url": f"/api/v1/institutions/{institution.pk}/poster.png",
    }


@router.get(
    "/institutions/{institution_id}/verification-link",
    response={200: VerificationLinkOut, 401: ErrorOut, 404: ErrorOut},
    summary="机构核验链接 The address in the institution's QR code",
    description=(
        "可查看该机构档案的人（该镇街的教育局人员、机构自身人员）可见；其他人 404。\n\n"
        "Those who may see the institution's record (bureau roles of its town, its own staff); anyone else 404."
    ),
)
def verification_link(request, institution_id: int):
    institution = selectors.access_institution_record(request.auth, institution_id)
    token = verification.live_token(institution)
    return {**_link(institution, token), "rotated_before": verification.revoked_count(institution)}


@router.post(
    "/institutions/{institution_id}/verification-token/rotate",
    response={200: RotatedOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="更换核验二维码（旧码作废）Replace the verification code (the old one stops working)",
    description=(
        "教育局该镇街的工作人员可操作；督查员和机构自身人员 403，其他人 404。海报随后重新生成。\n\n"
        "Bureau staff of the institution's town; its inspectors and its own staff get 403, anyone else 404. "
        "The poster is rebuilt afterwards."
    ),
)
def rotate_token(request, institution_id: int, payload: RotateIn):
    selectors.access_institution_record(request.auth, institution_id)  # 404 for those who may not see it
    token = institution_services.token_rotate(actor=request.auth, institution_id=institution_id, reason=payload.reason)
    return _link(token.institution, token)
