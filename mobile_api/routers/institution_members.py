"""An institution's accounts (users holding its role institution_staff), given and taken by the bureau of its town
with a reason: the same services as the console's institution page (accounts.services.institution_member_*). An
institution outside the caller's towns answers 404, as a missing one does."""

from __future__ import annotations

from datetime import datetime as DateTime

from ninja import Router, Schema, Status
from pydantic import Field

from accounts import services
from accounts.models import Membership
from accounts.phones import mask_phone
from institutions.selectors import access_institution_for_editing

from ..schemas import ErrorOut

router = Router(tags=["institutions 机构"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class MemberOut(Schema):
    id: int = Field(..., description="成员身份 id / membership id")
    user_id: int
    name: str
    phone: str = Field(..., description="掩码手机号 / masked phone")
    active: bool
    since: DateTime


class MemberIn(Schema):
    phone: str = Field(
        ..., min_length=1, max_length=20, description="已注册账号的手机号 / phone of an existing account"
    )
    reason: str = Field(..., min_length=1, max_length=200)


class RemoveIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


def _out(m: Membership) -> dict:
    return {
        "id": m.pk,
        "user_id": m.user_id,
        "name": m.user.name,
        "phone": mask_phone(m.user.phone),
        "active": m.is_active,
        "since": m.created_at,
    }


@router.get(
    "/institutions/{institution_id}/members",
    response={200: list[MemberOut], **ERRORS},
    summary="机构账号 An institution's accounts (bureau)",
)
def list_members(request, institution_id: int):
    institution = access_institution_for_editing(request.auth, institution_id)
    return [_out(m) for m in services.institution_members(institution.pk)]


@router.post(
    "/institutions/{institution_id}/members",
    response={200: MemberOut, 201: MemberOut, **ERRORS},
    summary="添加机构账号 Give an account the institution's role (bureau)",
    description=(
        "按手机号添加已注册的账号，须填写原因。已是本机构账号时返回 200 且不作改动（重试安全）。"
        "该手机号尚无账号时返回 422（membership.no_account）：请对方先注册。"
        "/ An existing account by phone, with a reason; adding it again answers 200 and changes nothing. "
        "A phone with no account: 422 (the person signs up first)."
    ),
)
def add_member(request, institution_id: int, payload: MemberIn):
    institution = access_institution_for_editing(request.auth, institution_id)
    membership, created = services.institution_member_add(
        actor=request.auth,
        institution_id=institution.pk,
        town_id=institution.town_id,
        phone=payload.phone,
        reason=payload.reason,
    )
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    return Status(201 if created else 200, _out(membership))


@router.post(
    "/institutions/{institution_id}/members/{membership_id}/remove",
    response={200: MemberOut, **ERRORS},
    summary="移除机构账号 Take the institution's role from an account (bureau)",
    description="须填写原因；重复移除不作改动。/ With a reason; removing again changes nothing.",
)
def remove_member(request, institution_id: int, membership_id: int, payload: RemoveIn):
    institution = access_institution_for_editing(request.auth, institution_id)
    membership = services.institution_member_remove(
        actor=request.auth,
        institution_id=institution.pk,
        town_id=institution.town_id,
        membership_id=membership_id,
        reason=payload.reason,
    )
    return _out(membership)
