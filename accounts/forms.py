from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from core.context import client_ip
from core.errors import DomainError

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

    username = forms.CharField(label="手机号或用户名", max_length=50, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "手机号/用户名或密码错误 (wrong phone number, username or password)",
        "inactive": "该账户已停用 (this account is disabled)",
    }


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """/admin/login/: the same limits, so spraying passwords over many accounts from one address is slowed there too."""
