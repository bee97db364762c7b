"""Accounts use cases: sign-in with tokens, SMS codes, parent self-registration, memberships."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.audit import audit_log
from core.errors import DomainError, NotFound, PermissionDenied, joined, render
from core.notifications import push_to_group, session_group

from . import authcache, places, scope
from .backends import find_login_user
from .models import (
    INSTITUTION_ROLES,
    INVITABLE_ROLES,
    REGION_ROLES,
    SCHOOL_ROLES,
    AccessToken,
    AuthSession,
    Invitation,
    Membership,
    Region,
    RetiredRefreshToken,
    Role,
    SmsCode,
    User,
)
from .phones import normalize_mainland_mobile
from .sms import send_sms
from .throttle import check_login_allowed, clear_login_failures, login_subject, record_login_failure

ACCESS_PREFIX = "sja_"
REFRESH_PREFIX = "sjr_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: a stolen table does not give usable tokens.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session: AuthSession


def _new_access_token(session: AuthSession, now: datetime) -> tuple[str, datetime]:
    raw = ACCESS_PREFIX + secrets.token_urlsafe(32)
    expires = now + settings.ACCESS_TOKEN_TTL
    AccessToken.objects.create(token_hash=hash_token(raw), session=session, expires_at=expires)
    return raw, expires


INVALID_CREDENTIALS = ("auth.invalid_credentials", _("手机号/用户名或密码错误"))


def auth_login(*, identifier: str, password: str, device: str = "", ip: str | None = None) -> TokenPair:
    user = find_login_user(identifier)
    subject = login_subject(identifier, user)  # every spelling of one account counts toward one limit
    check_login_allowed(subject, ip)
    if user is None:
        User().set_password(password)  # same work as a real check, so timing does not reveal who exists
    if user is None or not user.is_active or not user.check_password(password):
        record_login_failure(subject, ip)
        raise DomainError(*INVALID_CREDENTIALS, status=401)
    clear_login_failures(subject)
    now = timezone.now()
    with transaction.atomic():
        refresh_raw = REFRESH_PREFIX + secrets.token_urlsafe(32)
        session = AuthSession.objects.create(
            user=user,
            refresh_hash=hash_token(refresh_raw),
            refresh_expires_at=now + settings.REFRESH_TOKEN_TTL,
            device=device[:100],
            ip=ip,
            last_used_at=now,
        )
        access_raw, access_expires = _new_access_token(session, now)
        User.objects.filter(pk=user.pk).update(last_login=now)
        audit_log(actor=user, verb="auth.login", obj=session, data={"device": device[:100]})
    return TokenPair(access_raw, access_expires, refresh_raw, session.refresh_expires_at, session)


def auth_refresh(*, refresh_token: str) -> TokenPair:
    """Rotates the refresh token: the old one serves once. Two refreshes racing with one token: one wins.

    A session is a token family: a refresh token presented again after it was exchanged means someone else holds a
    copy (the thief may have refreshed first), so the whole session is revoked, the newest refresh token and its
    access tokens with it, and both parties must sign in again."""
    now = timezone.now()
    old_hash = hash_token(refresh_token or "")
    session = AuthSession.objects.select_related("user").filter(refresh_hash=old_hash).first()
    if session is None:
        retired = RetiredRefreshToken.objects.select_related("session__user").filter(token_hash=old_hash).first()
        if retired is not None:
            _revoke_family(retired.session)
            raise DomainError(
                "auth.refresh_reused",
                _("刷新令牌已被使用过，为安全起见该登录已注销，请重新登录"),
                status=401,
            )
        raise DomainError("auth.invalid_refresh", _("刷新令牌无效"), status=401)
    if session.revoked_at is not None or not session.user.is_active:
        raise DomainError("auth.token_revoked", _("登录已失效，请重新登录"), status=401)
    if session.refresh_expires_at <= now:
        raise DomainError("auth.refresh_expired", _("登录已过期，请重新登录"), status=401)
    with transaction.atomic():
        new_raw = REFRESH_PREFIX + secrets.token_urlsafe(32)
        new_expires = now + settings.REFRESH_TOKEN_TTL
        won = AuthSession.objects.filter(pk=session.pk, refresh_hash=old_hash, revoked_at__isnull=True).update(
            refresh_hash=hash_token(new_raw), refresh_expires_at=new_expires, last_used_at=now
        )
        if not won:
            raise DomainError("auth.invalid_refresh", _("刷新令牌无效"), status=401)
        RetiredRefreshToken.objects.create(
            token_hash=old_hash, session=session, retired_at=now, expires_at=session.refresh_expires_at
        )
        access_raw, access_expires = _new_access_token(session, now)
        AccessToken.objects.filter(session=session, expires_at__lte=now).delete()  # keep the table small
    return TokenPair(access_raw, access_expires, new_raw, new_expires, session)


def authenticate_access_token(raw: str) -> tuple[User, AuthSession]:
    """The user and session behind a bearer token, or a 401 DomainError saying why not."""
    if not raw:
        raise DomainError("auth.invalid_token", _("访问令牌无效"), status=401)
    token_hash = hash_token(raw)
    cached = authcache.get(token_hash)
    if cached is not None:
        user, session, expires = cached
        if expires <= time.time():
            raise DomainError("auth.token_expired", _("访问令牌已过期，请刷新"), status=401)
        return user, session
    token = AccessToken.objects.select_related("session__user").filter(token_hash=token_hash).first()
    if token is None:
        raise DomainError("auth.invalid_token", _("访问令牌无效"), status=401)
    session = token.session
    if session.revoked_at is not None or not session.user.is_active:
        raise DomainError("auth.token_revoked", _("登录已失效，请重新登录"), status=401)
    if token.expires_at <= timezone.now():
        raise DomainError("auth.token_expired", _("访问令牌已过期，请刷新"), status=401)
    authcache.put(token_hash, session.user, session, token.expires_at)
    return session.user, session


def _revoke_sessions(sessions, reason: str) -> list[int]:
    now = timezone.now()
    ids = list(sessions.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    if ids:
        # Access tokens stay until they expire (purged daily), so a revoked one answers "revoked", not "unknown".
        AuthSession.objects.filter(pk__in=ids).update(revoked_at=now, revoked_reason=reason)
        authcache.forget_sessions(ids)

        def close_sockets():
            for sid in ids:
                push_to_group(session_group(sid), {"type": "session.revoked"})

        transaction.on_commit(close_sockets)
    return ids


def _revoke_family(session: AuthSession) -> None:
    """Committed before the refusal is raised: the revocation must outlive the failed request."""
    with transaction.atomic():
        if _revoke_sessions(AuthSession.objects.filter(pk=session.pk), "refresh_reused"):
            audit_log(
                actor=None,
                verb="auth.refresh_reused",
                obj=session,
                from_state="active",
                to_state="revoked",
                data={"user": session.user_id},
            )


@transaction.atomic
def auth_logout(*, actor: User, session: AuthSession) -> None:
    ids = _revoke_sessions(AuthSession.objects.filter(pk=session.pk, user=actor), "logout")
    if ids:
        audit_log(actor=actor, verb="auth.logout", obj=session, from_state="active", to_state="revoked")


def is_bureau_admin(user: User) -> bool:
    return user.is_superuser or user.memberships.filter(role=Role.BUREAU_ADMIN, is_active=True).exists()


@transaction.atomic
def auth_revoke_user_sessions(*, actor: User, user: User, reason: str = "admin") -> int:
    """A lost phone: an admin cuts off every device the user is signed in on."""
    if not is_bureau_admin(actor):
        raise PermissionDenied()
    ids = _revoke_sessions(AuthSession.objects.filter(user=user), reason)
    audit_log(
        actor=actor,
        verb="auth.revoke_all",
        obj=user,
        from_state="",
        to_state="revoked",
        data={"sessions": ids, "reason": reason},
    )
    return len(ids)


# --- SMS codes and parent registration ---------------------------------------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _phone_or_error(raw: str) -> str:
    phone = normalize_mainland_mobile(raw)
    if phone is None:
        raise DomainError(
            "request.invalid",
            _("输入有误"),
            status=422,
            fields={"phone": _("请输入有效的中国大陆手机号")},
        )
    return phone


def _sms_limits(phone: str, ip: str | None) -> list[tuple[dict, timedelta, int, object]]:
    """(rows counted, window, limit, message): per phone and per client address, per hour and per day
    (each SMS costs money; a script may rotate phones, or addresses, not both without limit)."""
    hour, day = timedelta(hours=1), timedelta(days=1)
    phone_hour = _("验证码发送过于频繁，请一小时后再试")
    phone_day = _("该手机号今日验证码已达上限，请明天再试")
    address = _("当前网络获取验证码过于频繁，请稍后再试")
    limits = [
        ({"phone": phone}, hour, settings.SMS_CODES_PER_PHONE_PER_HOUR, phone_hour),
        ({"phone": phone}, day, settings.SMS_CODES_PER_PHONE_PER_DAY, phone_day),
    ]
    if ip:
        limits += [
            ({"ip": ip}, hour, settings.SMS_CODES_PER_ADDRESS_PER_HOUR, address),
            ({"ip": ip}, day, settings.SMS_CODES_PER_ADDRESS_PER_DAY, address),
        ]
    return limits


def _check_sms_limits(phone: str, ip: str | None, now: datetime) -> None:
    for rows, window, limit, message in _sms_limits(phone, ip):
        if limit <= 0:  # 0 turns a limit off
            continue
        recent = SmsCode.objects.filter(**rows, created_at__gt=now - window).order_by("-created_at")
        nth_newest = list(recent.values_list("created_at", flat=True)[limit - 1 : limit])
        if nth_newest:  # `limit` codes in the window already: wait until the oldest of them leaves it
            wait = max(1, math.ceil((nth_newest[0] + window - now).total_seconds()))
            raise DomainError(
                "auth.sms_rate_limited", message, status=429, headers={"Retry-After": str(wait)}
            )


def sms_code_send(*, phone: str, purpose: str = SmsCode.Purpose.REGISTER, ip: str | None = None) -> SmsCode:
    """Sends a sign-up (or password reset) code. A number that already has an account is answered exactly alike
    (same status, body, limits, one SMS and one stored code): its SMS says the account exists and carries no code,
    so the caller learns nothing about the number unless they hold the phone. A reset is the mirror image: only a
    number with an account gets a code; a free one gets an SMS saying so, and the caller is answered alike."""
    purpose = SmsCode.Purpose(purpose)
    phone = _phone_or_error(phone)
    now = timezone.now()
    with transaction.atomic():
        _check_sms_limits(phone, ip, now)
        code = f"{secrets.randbelow(10**6):06d}"
        holder = User.objects.filter(phone=phone).only("pk", "language").first()
        taken = holder is not None
        row = SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(phone, code),  # for a taken number, a code nobody is told
            created_at=now,
            expires_at=now + settings.SMS_CODE_TTL,
            ip=ip,
        )
        minutes = int(settings.SMS_CODE_TTL.total_seconds() // 60)
        gets_code = taken if purpose == SmsCode.Purpose.RESET else not taken
        if gets_code:
            text = format_lazy(
                _("【双减监管】您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作请忽略。"),
                code=code,
                minutes=minutes,
            )
        elif taken:
            text = _(
                "【双减监管】该手机号已注册账号，请直接登录；忘记密码可在登录页用短信验证码重设密码。"
                "如非本人操作请忽略。"
            )
        else:
            text = _("【双减监管】该手机号尚未注册账号，无法重设密码，请先注册。如非本人操作请忽略。")
        # In the holder's language when the number has an account that chose one, else in the requester's.
        text = render(text, holder.language if holder is not None and holder.language else None)
        transaction.on_commit(lambda: send_sms(phone, text))
    return row


def _check_sms_code(phone: str, code: str, purpose: str) -> SmsCode:
    """The matching, usable code, or a DomainError. A wrong guess is counted even though the request fails, so this
    runs outside the registration's transaction."""
    now = timezone.now()
    candidates = list(SmsCode.objects.filter(phone=phone, purpose=purpose, created_at__gt=now - timedelta(hours=1)))
    wanted = _code_hash(phone, (code or "").strip())
    match = next((c for c in candidates if hmac.compare_digest(c.code_hash, wanted)), None)
    if match is None:
        latest = next((c for c in candidates if c.used_at is None), None)
        if latest is not None:
            # Guessing is bounded: after a few wrong tries the code is burned.
            burn = latest.attempts + 1 >= settings.SMS_CODE_MAX_ATTEMPTS
            SmsCode.objects.filter(pk=latest.pk).update(
                attempts=models.F("attempts") + 1, **({"used_at": now} if burn else {})
            )
        raise DomainError(
            "auth.sms_code_invalid",
            _("验证码错误"),
            status=400,
            fields={"code": _("验证码错误")},
        )
    if match.used_at is not None:
        raise _code_used()
    if match.expires_at <= now:
        raise DomainError(
            "auth.sms_code_expired",
            _("验证码已过期，请重新获取"),
            status=400,
            fields={"code": _("验证码已过期")},
        )
    return match


def _code_used() -> DomainError:
    return DomainError(
        "auth.sms_code_used",
        _("验证码已使用，请重新获取"),
        status=400,
        fields={"code": _("验证码已使用")},
    )


def _spend_sms_code(match: SmsCode) -> None:
    # Single use even when two requests race with the same code: only one conditional update wins.
    if not SmsCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise _code_used()


class SignupKind(models.TextChoices):
    """Who signs themselves up: a parent (the parent role), or an outside coach (校外人员), who needs no role to
    apply for admission to a school (afterschool.admission: the applicant's own OutsidePerson)."""

    PARENT = "parent", _("家长")
    OUTSIDE = "outside", _("校外人员（教练）")


def _check_name_and_password(phone: str, name: str, password: str, *, with_name: bool = True) -> None:
    fields = {}
    if with_name and (not name or len(name) > 50):
        fields["name"] = _("请填写姓名（不超过 50 字）")
    try:
        password_validation.validate_password(password, User(phone=phone, name=name))
    except ValidationError as exc:
        fields["password"] = joined(exc.messages)
    if fields:
        raise DomainError("request.invalid", _("输入有误"), status=422, fields=fields)


def _phone_taken() -> DomainError:
    return DomainError("auth.phone_taken", _("该手机号已注册，请直接登录"), status=409)


def _replayed_signup(match: SmsCode, phone: str, password: str) -> User | None:
    """The account this very code created, when the same code and password come again (a double-submitted form, a
    retry after a lost answer): the same result instead of an error. Only the holder of the phone has the code."""
    user = User.objects.filter(phone=phone, date_joined__gte=match.created_at).first()
    if user is not None and match.used_at is not None and user.check_password(password):
        return user
    return None


def self_register(
    *, phone: str, code: str, name: str, password: str, kind: str = SignupKind.PARENT, ip: str | None = None
) -> User:
    """Sign-up with an SMS code (the API's and the web's). A repeat of a successful sign-up (same code, same
    password) answers the same account and writes nothing."""
    phone = _phone_or_error(phone)
    kind = SignupKind(kind)
    name = (name or "").strip()
    _check_name_and_password(phone, name, password)
    # The code first: only who holds the phone may learn that it has an account (a taken number's SMS has no code).
    try:
        match = _check_sms_code(phone, code, SmsCode.Purpose.REGISTER)
    except DomainError as exc:
        if exc.code == "auth.sms_code_used":
            used = _matching_code(phone, code, SmsCode.Purpose.REGISTER)
            replay = used and _replayed_signup(used, phone, password)
            if replay:
                return replay
        raise
    if User.objects.filter(phone=phone).exists():
        raise _phone_taken()
    try:
        with transaction.atomic():
            _spend_sms_code(match)
            user = User.objects.create_user(phone=phone, name=name, password=password)
            if kind == SignupKind.PARENT:
                Membership.objects.create(user=user, role=Role.PARENT)
            audit_log(actor=user, verb="user.register", obj=user, to_state="active", data={"role": kind.value})
    except IntegrityError as exc:  # the same phone registered by a racing request
        raise _phone_taken() from exc
    except DomainError as exc:  # the same code spent by a racing twin of this request
        match.refresh_from_db()
        replay = exc.code == "auth.sms_code_used" and _replayed_signup(match, phone, password)
        if replay:
            return replay
        raise
    return user


def parent_register(*, phone: str, code: str, name: str, password: str, ip: str | None = None) -> User:
    return self_register(phone=phone, code=code, name=name, password=password, kind=SignupKind.PARENT, ip=ip)


def _matching_code(phone: str, code: str, purpose: str) -> SmsCode | None:
    wanted = _code_hash(phone, (code or "").strip())
    since = timezone.now() - timedelta(hours=1)
    rows = SmsCode.objects.filter(phone=phone, purpose=purpose, created_at__gt=since)
    return next((c for c in rows if hmac.compare_digest(c.code_hash, wanted)), None)


def password_reset(*, phone: str, code: str, password: str, ip: str | None = None) -> User:
    """A forgotten password, set again with a code sent to the phone. A number without an account never received a
    code (its SMS says so), so it is answered "wrong code", like any wrong guess. Every device signed in with the old
    password is signed out (its tokens revoked; web sessions end with the password's hash)."""
    phone = _phone_or_error(phone)
    _check_name_and_password(phone, "", password, with_name=False)
    match = _check_sms_code(phone, code, SmsCode.Purpose.RESET)
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:  # cannot happen without a code nobody was told; answered as a wrong code all the same
        raise DomainError("auth.sms_code_invalid", _("验证码错误"), status=400, fields={"code": _("验证码错误")})
    with transaction.atomic():
        _spend_sms_code(match)
        user.set_password(password)
        user.save(update_fields=["password"])
        ids = _revoke_sessions(AuthSession.objects.filter(user=user), "password_reset")
        audit_log(actor=user, verb="user.password_reset", obj=user, data={"sessions_revoked": len(ids)})
    clear_login_failures(login_subject(phone, user))
    authcache.forget_user(user.pk)
    return user


# --- Memberships -------------------------------------------------------------------------------------------------


@transaction.atomic
def membership_grant(
    *, actor, user: User, role: str, region=None, school_id: int | None = None, institution_id: int | None = None
) -> Membership:
    """Give `user` a role where it applies: a region (bureau roles), a school or an institution (by id: identity
    knows no domain model; the owning app answers whether the place exists), or nowhere (a parent)."""
    if actor is not None and not is_bureau_admin(actor):
        raise PermissionDenied()
    role = Role(role)
    expected = (
        "region"
        if role in REGION_ROLES
        else "school"
        if role in SCHOOL_ROLES
        else "institution"
        if role in INSTITUTION_ROLES
        else None
    )
    given = {"region": region, "school": school_id, "institution": institution_id}
    if any(v is not None for k, v in given.items() if k != expected) or (expected and given[expected] is None):
        raise DomainError(
            "membership.scope_mismatch",
            _("角色与适用范围不符"),
            status=422,
        )
    if expected in places.KINDS and not places.exists(expected, given[expected]):
        raise DomainError("membership.unknown_place", _("该学校或机构不存在"), status=422)
    membership, created = Membership.objects.get_or_create(
        user=user,
        role=role,
        region=region,
        school_id=school_id,
        institution_id=institution_id,
        defaults={"is_active": True},
    )
    if created or not membership.is_active:
        if not membership.is_active:
            Membership.objects.filter(pk=membership.pk).update(is_active=True)
            membership.is_active = True
            authcache.forget_user(user.pk)  # .update() sends no signal
        scope = str(region) if region else f"{expected} {given[expected]}" if expected else ""
        audit_log(
            actor=actor,
            verb="membership.grant",
            obj=membership,
            to_state="active",
            data={"user": user.pk, "role": role.value, "scope": scope},
        )
    return membership


# --- An institution's accounts: given and taken by the bureau of its town -------------------------------------------

INSTITUTION_MEMBER_EDITORS = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF)


def _institution_member_editor(actor, town_id: int) -> None:
    """Bureau staff and admins of the institution's town. The caller passes the town as the registry answers it (it
    loaded the institution scoped to the actor: identity knows no institution, see accounts.places)."""
    if town_id not in scope.town_ids(actor, *INSTITUTION_MEMBER_EDITORS):
        raise PermissionDenied(_("只有该镇街的教育局工作人员可以执行此操作"))


def _member_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise DomainError(
            "membership.reason_required",
            _("请填写原因（不超过 200 字）"),
            status=422,
            fields={"reason": _("请填写原因（不超过 200 字）")},
        )
    return reason


def institution_members(institution_id: int):
    """The active accounts of an institution (role institution_staff), with their users, oldest first."""
    return (
        Membership.objects.filter(role=Role.INSTITUTION_STAFF, institution_id=institution_id, is_active=True)
        .select_related("user")
        .order_by("created_at", "id")
    )


@transaction.atomic
def institution_member_add(
    *, actor: User, institution_id: int, town_id: int, phone: str, reason: str
) -> tuple[Membership, bool]:
    """Gives the account registered with `phone` the role institution_staff at the institution, with a reason:
    (membership, created). Adding someone already there changes nothing (a retry is safe). A phone with no account
    is refused with what to do: invitations carry bureau and school roles only, so the person signs up first."""
    _institution_member_editor(actor, town_id)
    number = normalize_mainland_mobile(phone)
    if number is None:
        raise DomainError(
            "request.invalid", _("输入有误"), status=422, fields={"phone": _("请输入有效的中国大陆手机号")}
        )
    reason = _member_reason(reason)
    user = User.objects.filter(phone=number).first()
    if user is None or not user.is_active:
        message = _("该手机号尚未注册账号（或已停用）：请对方先在本平台注册，再添加为机构账号")
        raise DomainError("membership.no_account", message, status=422, fields={"phone": message})
    if not places.exists(places.INSTITUTION, institution_id):
        raise NotFound(_("机构不存在"))
    membership = (
        Membership.objects.select_for_update()
        .filter(user=user, role=Role.INSTITUTION_STAFF, institution_id=institution_id)
        .first()
    )
    if membership is not None and membership.is_active:
        return membership, False
    if membership is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    user=user, role=Role.INSTITUTION_STAFF, institution_id=institution_id
                )
        except IntegrityError:  # added at the same moment by someone else (a double tap, two colleagues)
            membership = Membership.objects.get(user=user, role=Role.INSTITUTION_STAFF, institution_id=institution_id)
            return membership, False
    else:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    authcache.forget_user(user.pk)
    _member_audit(actor, "add", membership, user, reason)
    return membership, True


@transaction.atomic
def institution_member_remove(
    *, actor: User, institution_id: int, town_id: int, membership_id: int, reason: str
) -> Membership:
    """Takes the role institution_staff at the institution from an account, with a reason (the account stays; its
    other roles too). Removing twice changes nothing. A membership of another institution: 404."""
    _institution_member_editor(actor, town_id)
    reason = _member_reason(reason)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership_id, role=Role.INSTITUTION_STAFF, institution_id=institution_id)
        .first()
    )
    if membership is None:
        raise NotFound(_("该账号不存在"))
    if membership.is_active:
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        authcache.forget_user(membership.user_id)
        _member_audit(actor, "remove", membership, membership.user, reason)
    return membership


def _member_audit(actor, action: str, membership: Membership, user: User, reason: str) -> None:
    # Written on the institution (by label and id: identity imports no registry), so its timeline shows who joined
    # and left; the membership's id and the user's are in the data.
    audit_log(
        actor=actor,
        verb=f"institution.account.{action}",
        object_type="institutions.institution",
        object_id=str(membership.institution_id),
        from_state="" if action == "add" else "active",
        to_state="active" if action == "add" else "inactive",
        data={"membership": membership.pk, "user": user.pk, "name": user.name, "reason": reason},
    )


# --- Invitations: roles given by the bureau or a school -----------------------------------------------------------

INVITATION_TTL = timedelta(hours=72)
INVITATION_PATH = "/accounts/invitation/{token}"


@dataclass(frozen=True)
class Place:
    """A school as identity knows it: an id and a name, answered by its app through accounts.places."""

    pk: int
    name: str


def invitable_roles(actor) -> list[Role]:
    """What the actor may give: the bureau's admin every invitable role in the regions and schools they cover; a
    school's admin teachers of their own school; anyone else nothing."""
    if scope.has_role(actor, Role.BUREAU_ADMIN):
        return list(INVITABLE_ROLES)
    if scope.school_ids(actor, Role.SCHOOL_ADMIN):
        return [Role.TEACHER]
    return []


def invitable_regions(actor):
    return Region.objects.filter(pk__in=scope.town_ids(actor, Role.BUREAU_ADMIN), valid_to__isnull=True).order_by(
        "code"
    )


def with_place_names(invitations):
    """The invitations, each with `place_name` (its town or school), the schools' names in one query."""
    invitations = list(invitations)
    schools = places.names(places.SCHOOL, {i.school_id for i in invitations})
    for i in invitations:
        i.place_name = str(i.region) if i.region_id else schools.get(i.school_id, "")
    return invitations


def invitable_schools(actor):
    ids = scope.school_ids(actor, Role.SCHOOL_ADMIN)
    towns = scope.town_ids(actor, Role.BUREAU_ADMIN)
    found = {**places.names(places.SCHOOL, ids), **places.in_towns(places.SCHOOL, towns)}
    return sorted((Place(pk, name) for pk, name in found.items()), key=lambda p: (p.name, p.pk))


def _invitation_link(base_url: str, raw: str) -> str:
    return base_url.rstrip("/") + INVITATION_PATH.format(token=raw)


def invitation_create(
    *,
    actor: User,
    phone: str,
    name: str,
    role: str,
    region_id: int | None = None,
    school_id: int | None = None,
    base_url: str | None = None,
) -> Invitation:
    """Invites a person to a role: stored with the hash of a one-time token, sent by SMS as a link (after commit).
    A role or place outside the actor's reach is refused as forbidden; the form offers only what they may give."""
    allowed = invitable_roles(actor)
    if not allowed:
        raise PermissionDenied()
    fields = {}
    number = normalize_mainland_mobile(phone)
    if number is None:
        fields["phone"] = _("请输入有效的中国大陆手机号")
    name = (name or "").strip()
    if not name or len(name) > 50:
        fields["name"] = _("请填写姓名（不超过 50 字）")
    if role not in {r.value for r in INVITABLE_ROLES}:
        fields["role"] = _("请选择角色")
    if fields:
        raise DomainError("request.invalid", _("输入有误"), status=422, fields=fields)
    role = Role(role)
    if role not in allowed:
        raise PermissionDenied(_("您不能邀请该角色"))
    region = school = None
    if role in REGION_ROLES:
        region = invitable_regions(actor).filter(pk=region_id or 0).first()
        if region is None and region_id:  # missing and not yours alike
            raise NotFound(_("区域不存在"))
        if region is None:
            raise DomainError(
                "invitation.region_required",
                _("请选择您管辖的区域"),
                status=422,
                fields={"region": _("请选择您管辖的区域")},
            )
    else:
        school = next((s for s in invitable_schools(actor) if s.pk == school_id), None)
        if school is None and school_id:  # missing and not yours alike
            raise NotFound(_("学校不存在"))
        if school is None:
            raise DomainError(
                "invitation.school_required",
                _("请选择您管理的学校"),
                status=422,
                fields={"school": _("请选择您管理的学校")},
            )
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            phone=number,
            name=name,
            role=role,
            region=region,
            school_id=school.pk if school else None,
            token_hash=hash_token(raw),
            invited_by=actor,
            created_at=now,
            expires_at=now + INVITATION_TTL,
        )
        audit_log(
            actor=actor,
            verb="invitation.create",
            obj=invitation,
            to_state="sent",
            data={"role": role.value, "region": getattr(region, "pk", None), "school": getattr(school, "pk", None)},
        )
        link = _invitation_link(base_url or settings.PUBLIC_BASE_URL, raw)
        hours = int(INVITATION_TTL.total_seconds() // 3600)
        text = (
            f"【双减监管】{name}，您被邀请担任{role.label}（{region or school}）。请在 {hours} 小时内打开链接设置密码："
            f"{link} 如非本人请忽略。"
        )
        transaction.on_commit(lambda: send_sms(number, text))
    return invitation


def invitations_visible_to(actor):
    """The invitations a person may follow and revoke: those they sent; a bureau admin, every one of the district."""
    if not invitable_roles(actor):
        return Invitation.objects.none()
    qs = Invitation.objects.select_related("region")
    return qs if is_bureau_admin(actor) else qs.filter(invited_by=actor)


def invitation_revoke(*, actor: User, invitation_id: int) -> Invitation:
    """Withdraws an invitation not yet accepted: its link stops working at once. Revoking twice changes nothing."""
    with transaction.atomic():
        invitation = invitations_visible_to(actor).select_for_update(of=("self",)).filter(pk=invitation_id).first()
        if invitation is None:
            raise NotFound(_("邀请不存在"))
        if invitation.accepted_at is not None:
            raise DomainError(
                "invitation.accepted", _("邀请已被接受，不能撤回；如需收回角色，请停用其成员身份"), status=409
            )
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_log(actor=actor, verb="invitation.revoke", obj=invitation, from_state="sent", to_state="revoked")
    return invitation


def _invitation_invalid() -> DomainError:
    return DomainError("invitation.invalid", _("邀请链接无效或已使用"), status=404)


def invitation_by_token(raw: str) -> Invitation:
    """The open invitation behind a link, or one refusal for unknown, used and expired links alike."""
    invitation = Invitation.objects.select_related("region").filter(token_hash=hash_token(raw or "")).first()
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise _invitation_invalid()
    if invitation.expires_at <= timezone.now():
        raise DomainError("invitation.expired", _("邀请链接已过期，请联系邀请人重新发送"), status=410)
    return invitation


def invitation_accept(*, token: str, password: str, name: str = "", ip: str | None = None) -> User:
    """Accepts a link: a new account is made with the password set here; an existing account of the same phone
    proves itself with its current password. The membership is created; the link serves once."""
    invitation = invitation_by_token(token)
    user = User.objects.filter(phone=invitation.phone).first()
    if user is None:
        name = (name or "").strip() or invitation.name
        _check_name_and_password(invitation.phone, name, password)
    else:
        subject = login_subject(invitation.phone, user)
        check_login_allowed(subject, ip)
        if not user.is_active or not user.check_password(password):
            record_login_failure(subject, ip)
            raise DomainError(
                "auth.invalid_credentials",
                _("密码错误"),
                status=401,
                fields={"password": _("请输入该手机号现有账号的密码")},
            )
        clear_login_failures(subject)
    with transaction.atomic():
        won = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(accepted_at=timezone.now())
        if not won:
            raise _invitation_invalid()
        if user is None:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(phone=invitation.phone, name=name, password=password)
            except IntegrityError:
                raise _phone_taken() from None
            audit_log(actor=user, verb="user.register", obj=user, to_state="active", data={"role": invitation.role})
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        membership_grant(
            actor=None, user=user, role=invitation.role, region=invitation.region, school_id=invitation.school_id
        )
        audit_log(
            actor=user,
            verb="invitation.accept",
            obj=invitation,
            from_state="sent",
            to_state="accepted",
            data={"role": invitation.role, "invited_by": invitation.invited_by_id},
        )
    return user
