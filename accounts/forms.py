from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from core.context import client_ip
from core.errors import DomainError

from .services import SignupKind
from .throttle import check_login_allowed, clear_login_failures, login_subject, record_login_failure


class ThrottledLoginMixin:
    """Failures count toward the same limits as the API's sign-in: per account (in any spelling) and per address."""

    def clean(self):
        identifier = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request else None
        subject = login_subject(identifier)
        try:
            check_login_allowed(subject, ip)
        except DomainError as exc:
            raise forms.ValidationError(exc.message(), code="throttled") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_login_failure(subject, ip)
            raise
        if self.get_user() is not None:  # only a real sign-in clears the count (not a post without a password)
            clear_login_failures(subject)
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """Web sign-in with a mobile number or a username."""

    username = forms.CharField(
        label=_("手机号或用户名"), max_length=50, widget=forms.TextInput(attrs={"autofocus": True})
    )
    password = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput)

    error_messages = {  # one language at a time
        "invalid_login": _("手机号/用户名或密码错误"),
        "inactive": _("该账户已停用"),
    }


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """/admin/login/: the same limits, so spraying passwords over many accounts from one address is slowed there too."""


# --- Sign-up, password reset and invitations (the views hand the cleaned data to accounts.services) -------------

PHONE_WIDGET = forms.TextInput(
    attrs={"inputmode": "tel", "autocomplete": "tel", "maxlength": "20", "placeholder": "例如 13800138000"}
)
CODE_WIDGET = forms.TextInput(
    attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6", "pattern": "[0-9]*"}
)


class PhoneForm(forms.Form):
    """Step one of sign-up and of password reset: the phone that receives a code."""

    phone = forms.CharField(label=_("手机号"), max_length=20, widget=PHONE_WIDGET)


class SignupForm(forms.Form):
    """Only shapes here: the service checks every field at once (name and password before the code), so all the
    errors come back together."""

    phone = forms.CharField(label=_("手机号"), max_length=20, widget=PHONE_WIDGET)
    code = forms.CharField(label=_("短信验证码"), max_length=6, required=False, widget=CODE_WIDGET)
    name = forms.CharField(
        label=_("姓名"), max_length=50, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label=_("设置密码"),
        strip=False,
        required=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 8 位，不能全是数字，不能与手机号或姓名相近"),
    )
    kind = forms.ChoiceField(
        label=_("我是"), choices=SignupKind.choices, initial=SignupKind.PARENT, widget=forms.RadioSelect
    )


class PasswordResetForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20, widget=PHONE_WIDGET)
    code = forms.CharField(label=_("短信验证码"), max_length=6, required=False, widget=CODE_WIDGET)
    password = forms.CharField(
        label=_("新密码"),
        strip=False,
        required=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 8 位，不能全是数字，不能与手机号或姓名相近"),
    )


class InvitationForm(forms.Form):
    """The choices offered are what the inviter may give; the service decides all the same (a forged post of
    another school or a bureau role is refused there, 404 or 403)."""

    phone = forms.CharField(label=_("手机号"), max_length=20, required=False, widget=PHONE_WIDGET)
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    role = forms.CharField(label=_("角色"), required=False, widget=forms.Select)
    region = forms.CharField(label=_("区域"), required=False, widget=forms.Select)
    school = forms.CharField(label=_("学校"), required=False, widget=forms.Select)

    def __init__(self, *args, roles=(), regions=(), schools=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].widget.choices = [(r.value, r.label) for r in roles]
        self.fields["region"].widget.choices = [("", "—")] + [(str(r.pk), r.name) for r in regions]
        self.fields["school"].widget.choices = [("", "—")] + [(str(s.pk), s.name) for s in schools]
        if not regions:
            del self.fields["region"]
        if not schools:
            del self.fields["school"]


class InvitationAcceptForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    password = forms.CharField(
        label=_("设置密码"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 8 位，不能全是数字，不能与手机号或姓名相近"),
    )

    def __init__(self, *args, existing_account=False, **kwargs):
        super().__init__(*args, **kwargs)
        if existing_account:  # the phone has an account: it proves itself with its password
            del self.fields["name"]
            self.fields["password"].label = _("现有密码")
            self.fields["password"].help_text = ""
            self.fields["password"].widget.attrs["autocomplete"] = "current-password"
