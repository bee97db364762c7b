from datetime import datetime
from typing import Literal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from accounts import selectors, services
from accounts.models import User
from accounts.phones import mask_phone
from core.context import client_ip
from core.errors import NotFound, PermissionDenied

from ..pagination import PageParams, paginate
from ..schemas import ErrorOut

router = Router(tags=["auth 登录与账户"])

AUTH_ERRORS = {400: ErrorOut, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class SmsCodeIn(Schema):
    phone: str = Field(..., description="中国大陆手机号 / mainland China mobile number", examples=["13800138000"])
    purpose: Literal["register", "reset"] = Field(
        "register", description="register: 注册 / sign-up; reset: 重设密码 / password reset"
    )


class SmsCodeOut(Schema):
    sent: bool
    expires_in: int = Field(..., description="有效秒数 / seconds the code stays valid")


class RegisterIn(Schema):
    phone: str = Field(..., examples=["13800138000"])
    code: str = Field(..., min_length=6, max_length=6, pattern=r"^\d{6}$", description="短信验证码 / SMS code")
    name: str = Field(..., min_length=1, max_length=50)
    password: str = Field(..., min_length=8, max_length=128)
    device: str = Field("", max_length=100)


class LoginIn(Schema):
    login: str = Field(..., min_length=1, max_length=50, description="手机号或用户名 / mobile number or username")
    password: str = Field(..., min_length=1, max_length=128)
    device: str = Field("", max_length=100, description="设备名称 / device name, shown in the session list")


class RefreshIn(Schema):
    refresh_token: str = Field(..., min_length=1, max_length=200)


class TokenOut(Schema):
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


class PlaceOut(Schema):
    id: int
    name: str


class RegionOut(Schema):
    id: int
    code: str
    name: str


class MembershipOut(Schema):
    id: int
    role: str
    role_label: str
    region: RegionOut | None
    school: PlaceOut | None
    institution: PlaceOut | None


class MeOut(Schema):
    id: int
    name: str
    username: str | None
    phone: str | None
    roles: list[str]
    memberships: list[MembershipOut]


class RevokedOut(Schema):
    revoked: int


def _tokens(pair: services.TokenPair) -> dict:
    return {
        "token_type": "Bearer",
        "access_token": pair.access_token,
        "access_expires_at": pair.access_expires_at,
        "refresh_token": pair.refresh_token,
        "refresh_expires_at": pair.refresh_expires_at,
    }


def _membership_out(placed: selectors.PlacedMembership) -> dict:
    m = placed.info
    return {
        "id": m.id,
        "role": m.role,
        "role_label": m.role_label,
        "region": {"id": m.region_id, "code": m.region_code, "name": m.region_name} if m.region_id else None,
        "school": {"id": m.school_id, "name": placed.school_name or ""} if m.school_id else None,
        "institution": {"id": m.institution_id, "name": placed.institution_name or ""} if m.institution_id else None,
    }


def me_payload(user) -> dict:
    memberships = selectors.memberships_of(user)
    return {
        "id": user.pk,
        "name": user.name,
        "username": user.username,
        "phone": user.phone,  # the user's own number: not masked for themselves
        "roles": sorted({m.role for m in memberships}),
        # The places' names come from the apps that own them: one query per kind of place, however many roles.
        "memberships": [_membership_out(p) for p in selectors.with_places(memberships)],
    }


@router.post(
    "/auth/sms-code", auth=None, response={202: SmsCodeOut, **AUTH_ERRORS}, summary="发送短信验证码 Send an SMS code"
)
def send_sms_code(request, payload: SmsCodeIn):
    services.sms_code_send(phone=payload.phone, purpose=payload.purpose, ip=client_ip(request))
    return Status(202, {"sent": True, "expires_in": int(settings.SMS_CODE_TTL.total_seconds())})


@router.post("/auth/register", auth=None, response={201: TokenOut, **AUTH_ERRORS}, summary="家长注册 Parent sign-up")
def register(request, payload: RegisterIn):
    user = services.parent_register(
        phone=payload.phone, code=payload.code, name=payload.name, password=payload.password, ip=client_ip(request)
    )
    pair = services.auth_login(
        identifier=user.phone, password=payload.password, device=payload.device, ip=client_ip(request)
    )
    return Status(201, _tokens(pair))


@router.post("/auth/login", auth=None, response={200: TokenOut, **AUTH_ERRORS}, summary="登录 Sign in")
def login(request, payload: LoginIn):
    pair = services.auth_login(
        identifier=payload.login, password=payload.password, device=payload.device, ip=client_ip(request)
    )
    return Status(200, _tokens(pair))


@router.post("/auth/refresh", auth=None, response={200: TokenOut, **AUTH_ERRORS}, summary="刷新令牌 Refresh tokens")
def refresh(request, payload: RefreshIn):
    return Status(200, _tokens(services.auth_refresh(refresh_token=payload.refresh_token)))


@router.post("/auth/logout", response={204: None, 401: ErrorOut}, summary="退出登录 Sign out this device")
def logout(request):
    services.auth_logout(actor=request.auth, session=request.auth_session)
    return Status(204, None)


@router.get("/me", response={200: MeOut, 401: ErrorOut}, summary="当前用户 The signed-in user")
def me(request):
    return me_payload(request.auth)


@router.post(
    "/users/{user_id}/revoke-sessions",
    response={200: RevokedOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="注销某用户全部登录（丢失手机）Sign a user out everywhere (lost phone)",
)
def revoke_sessions(request, user_id: int):
    if not services.is_bureau_admin(request.auth):
        raise PermissionDenied()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("用户不存在"))
    return {"revoked": services.auth_revoke_user_sessions(actor=request.auth, user=user)}


# --- Password reset and invitations (the same services as the web pages) -----------------------------------------


class PasswordResetIn(Schema):
    phone: str = Field(..., examples=["13800138000"])
    code: str = Field(..., min_length=6, max_length=6, pattern=r"^\d{6}$", description="短信验证码（purpose=reset）")
    password: str = Field(..., min_length=8, max_length=128)


@router.post(
    "/auth/password-reset",
    auth=None,
    response={204: None, **AUTH_ERRORS},
    summary="凭短信验证码重设密码 Reset the password with an SMS code",
    description="先以 purpose=reset 调用 /auth/sms-code。成功后该账号在所有设备上的登录均被注销，请用新密码重新登录。"
    " / Ask /auth/sms-code with purpose=reset first. Every device is signed out; sign in again with the new password.",
)
def password_reset(request, payload: PasswordResetIn):
    services.password_reset(phone=payload.phone, code=payload.code, password=payload.password, ip=client_ip(request))
    return Status(204, None)


class InvitationIn(Schema):
    phone: str = Field(..., examples=["13800138000"])
    name: str = Field(..., min_length=1, max_length=50)
    role: Literal["bureau_staff", "inspector", "school_admin", "teacher"]
    region_id: int | None = Field(None, ge=1, le=2**53, description="教育局工作人员、督查员 / bureau staff, inspector")
    school_id: int | None = Field(None, ge=1, le=2**53, description="学校管理员、教师 / school admin, teacher")


class InvitationOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="脱敏手机号 / masked phone")
    role: str
    region_id: int | None
    school_id: int | None
    created_at: datetime
    expires_at: datetime
    state: Literal["sent", "accepted", "revoked", "expired"]

    @staticmethod
    def resolve_phone(obj):
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_state(obj):
        if obj.accepted_at:
            return "accepted"
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "sent"


class InvitationPage(Schema):
    items: list[InvitationOut]
    count: int


class InvitationAcceptIn(Schema):
    token: str = Field(..., min_length=1, max_length=200, description="短信链接中的令牌 / the token of the SMS link")
    password: str = Field(..., min_length=1, max_length=128)
    name: str = Field("", max_length=50)
    device: str = Field("", max_length=100)


INVITATION_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get(
    "/invitations",
    response={200: InvitationPage, **INVITATION_ERRORS},
    summary="已发出的邀请 Invitations sent",
)
def list_invitations(request, params: Query[PageParams]):
    if not services.invitable_roles(request.auth):
        raise PermissionDenied()
    return paginate(services.invitations_visible_to(request.auth), params)


@router.post(
    "/invitations",
    response={201: InvitationOut, **INVITATION_ERRORS, 429: ErrorOut},
    summary="邀请开通账号（短信链接）Invite a person to a role (SMS link)",
)
def create_invitation(request, payload: InvitationIn):
    invitation = services.invitation_create(
        actor=request.auth,
        phone=payload.phone,
        name=payload.name,
        role=payload.role,
        region_id=payload.region_id,
        school_id=payload.school_id,
    )
    return Status(201, invitation)


@router.post(
    "/invitations/{invitation_id}/revoke",
    response={200: InvitationOut, **INVITATION_ERRORS},
    summary="撤回邀请 Revoke an invitation",
)
def revoke_invitation(request, invitation_id: int):
    return services.invitation_revoke(actor=request.auth, invitation_id=invitation_id)


@router.post(
    "/auth/invitations/accept",
    auth=None,
    response={201: TokenOut, **AUTH_ERRORS, 404: ErrorOut, 410: ErrorOut},
    summary="接受邀请并登录 Accept an invitation and sign in",
)
def accept_invitation(request, payload: InvitationAcceptIn):
    user = services.invitation_accept(
        token=payload.token, password=payload.password, name=payload.name, ip=client_ip(request)
    )
    pair = services.auth_login(
        identifier=user.phone, password=payload.password, device=payload.device, ip=client_ip(request)
    )
    return Status(201, _tokens(pair))
