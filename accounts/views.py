"""Web pages of the front door: sign-in, sign-up with an SMS code (parents and outside coaches), password reset by SMS
code, and invitations to roles given by the bureau or a school. The same services and limits as the API
(accounts.services, accounts.throttle); a view adapts the request and the answer, it holds no rule."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from core.context import client_ip
from core.errors import DomainError, NotFound

from . import services
from .forms import (
    InvitationAcceptForm,
    InvitationForm,
    LoginForm,
    PasswordResetForm,
    PhoneForm,
    SignupForm,
)
from .models import SmsCode, User
from .phones import mask_phone, normalize_mainland_mobile

BACKEND = "accounts.backends.PhoneOrUsernameBackend"

# Refusals that carry no field of their own, shown beside the field they are about.
FIELD_OF_CODE = {
    "auth.sms_rate_limited": "phone",
    "auth.phone_taken": "phone",
    "auth.too_many_attempts": "password",
    "auth.invalid_credentials": "password",
}


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def safe_next(request) -> str:
    """Where to go afterwards: `next` when it stays on this site, else the home page."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return ""


def show_error(form, exc: DomainError) -> None:
    """A refusal of the service onto the form: each field's message beside its field; the general message only
    when no field carries one (the summary at the top then lists the fields, so nothing is said twice)."""
    fields = {name: text for name, text in exc.field_messages().items() if name in form.fields}
    if not fields and exc.code in FIELD_OF_CODE and FIELD_OF_CODE[exc.code] in form.fields:
        fields = {FIELD_OF_CODE[exc.code]: exc.message()}
    for name, text in fields.items():
        form.add_error(name, text)
    if not fields:
        form.add_error(None, exc.message())


def _sign_in(request, user: User):
    login(request, user, backend=BACKEND)


def _code_sent_notice(phone: str) -> str:
    # The same words whether the phone has an account or not: the SMS itself says which (services.sms_code_send).
    minutes = int(settings.SMS_CODE_TTL.total_seconds() // 60)
    return _("短信已发送至 %(phone)s，请按短信提示操作；验证码 %(minutes)s 分钟内有效。") % {
        "phone": mask_phone(phone),
        "minutes": minutes,
    }


def _send_code(request, form, purpose: str) -> bool:
    try:
        services.sms_code_send(phone=form.cleaned_data["phone"], purpose=purpose, ip=client_ip(request))
    except DomainError as exc:
        show_error(form, exc)
        return False
    return True


@require_http_methods(["GET", "POST"])
def signup(request):
    """Step one: the phone, and "获取验证码". Step two: the code, a name, a password, parent or outside coach; then
    signed in and sent on to `next` (the complaint form of the QR page's "举报问题") or home."""
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    wanted = request.POST.get("kind") or request.GET.get("kind")
    kind = wanted if wanted in services.SignupKind.values else services.SignupKind.PARENT.value
    context = {"next": next_url, "notice": "", "kind": kind}
    if request.method == "GET":
        return render(request, "accounts/signup.html", {**context, "form": PhoneForm(), "step": "phone"})
    action = request.POST.get("action")
    if action == "send":
        form = PhoneForm(request.POST)
        if form.is_valid() and _send_code(request, form, SmsCode.Purpose.REGISTER):
            phone = normalize_mainland_mobile(form.cleaned_data["phone"]) or form.cleaned_data["phone"]
            second = SignupForm(initial={"phone": phone, "kind": kind})
            return render(
                request,
                "accounts/signup.html",
                {**context, "form": second, "step": "code", "notice": _code_sent_notice(phone)},
            )
        return render(request, "accounts/signup.html", {**context, "form": form, "step": "phone"}, status=400)
    form = SignupForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = services.self_register(
                phone=data["phone"],
                code=data["code"],
                name=data["name"],
                password=data["password"],
                kind=data["kind"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            show_error(form, exc)
        else:
            _sign_in(request, user)
            if not next_url and data["kind"] == services.SignupKind.OUTSIDE:
                next_url = reverse("afterschool-admission-new")
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/signup.html", {**context, "form": form, "step": "code"}, status=400)


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """The phone, a code, a new password. Answered the same whether the phone has an account or not; the old
    password's devices are signed out (services.password_reset), and this browser is signed in."""
    next_url = safe_next(request)
    context = {"next": next_url, "notice": ""}
    if request.method == "GET":
        return render(request, "accounts/password_reset.html", {**context, "form": PhoneForm(), "step": "phone"})
    if request.POST.get("action") == "send":
        form = PhoneForm(request.POST)
        if form.is_valid() and _send_code(request, form, SmsCode.Purpose.RESET):
            phone = normalize_mainland_mobile(form.cleaned_data["phone"]) or form.cleaned_data["phone"]
            return render(
                request,
                "accounts/password_reset.html",
                {
                    **context,
                    "form": PasswordResetForm(initial={"phone": phone}),
                    "step": "code",
                    "notice": _code_sent_notice(phone),
                },
            )
        return render(request, "accounts/password_reset.html", {**context, "form": form, "step": "phone"}, status=400)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = services.password_reset(
                phone=data["phone"], code=data["code"], password=data["password"], ip=client_ip(request)
            )
        except DomainError as exc:
            show_error(form, exc)
        else:
            _sign_in(request, user)
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/password_reset.html", {**context, "form": form, "step": "code"}, status=400)


def _invite_form(user, data=None) -> InvitationForm:
    return InvitationForm(
        data,
        roles=services.invitable_roles(user),
        regions=list(services.invitable_regions(user)),
        schools=list(services.invitable_schools(user)),
    )


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@require_http_methods(["GET", "POST"])
def invite(request):
    """The bureau's admin or a school's admin invites a person to a role (SMS with a one-time link)."""
    if not request.user.is_authenticated:
        return auth_views.redirect_to_login(request.get_full_path())
    if not services.invitable_roles(request.user):
        return render(request, "accounts/invite_forbidden.html", status=403)
    status = 200
    form = _invite_form(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.invitation_create(
                    actor=request.user,
                    phone=data["phone"],
                    name=data["name"],
                    role=data["role"],
                    region_id=_int_or_none(data.get("region")),
                    school_id=_int_or_none(data.get("school")),
                    base_url=request.build_absolute_uri("/"),
                )
            except DomainError as exc:
                show_error(form, exc)
                status = exc.status
            else:
                return redirect(reverse("invite") + "?sent=1")
        else:
            status = 400
    sent = services.with_place_names(services.invitations_visible_to(request.user)[:20])
    return render(
        request,
        "accounts/invite.html",
        {
            "form": form,
            "sent": sent,
            "just_sent": request.GET.get("sent") == "1",
            "revoked": request.GET.get("revoked") == "1",
            "refused": request.GET.get("refused") == "1",
            "now": timezone.now(),
        },
        status=status,
    )


@require_POST
def invitation_revoke(request, invitation_id: int):
    """Withdraws an invitation still waiting (its link stops working); another person's invitation answers 404."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        services.invitation_revoke(actor=request.user, invitation_id=invitation_id)
    except NotFound:
        raise Http404 from None
    except DomainError:  # accepted meanwhile: the list says so
        return redirect(reverse("invite") + "?refused=1")
    return redirect(reverse("invite") + "?revoked=1")


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """The link of an invitation's SMS: set a password (or give the existing account's), and the role is yours."""
    try:
        invitation = services.with_place_names([services.invitation_by_token(token)])[0]
    except DomainError as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.message()}, status=exc.status)
    existing = User.objects.filter(phone=invitation.phone).exists()
    form = InvitationAcceptForm(
        request.POST if request.method == "POST" else None,
        existing_account=existing,
        initial={"name": invitation.name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password"],
                name=form.cleaned_data.get("name", ""),
                ip=client_ip(request),
            )
        except DomainError as exc:
            if exc.code in ("invitation.invalid", "invitation.expired"):
                return render(
                    request, "accounts/invitation_invalid.html", {"message": exc.message()}, status=exc.status
                )
            show_error(form, exc)
        else:
            _sign_in(request, user)
            return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(
        request,
        "accounts/invitation_accept.html",
        {"form": form, "invitation": invitation, "existing": existing},
        status=400 if request.method == "POST" else 200,
    )
