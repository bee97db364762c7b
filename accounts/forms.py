from django import forms
from django.contrib.auth.forms import AuthenticationForm

from core.context import client_ip
from core.errors import DomainError

from .throttle import check_login_allowed, clear_login_failures, record_login_failure


class LoginForm(AuthenticationForm):
    """Web sign-in with a mobile number or a username; failures count toward the same throttle as the API."""

    username = forms.CharField(label="手机号或用户名", max_length=50, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "手机号/用户名或密码错误 (wrong phone number, username or password)",
        "inactive": "该账户已停用 (this account is disabled)",
    }

    def clean(self):
        identifier = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request else None
        try:
            check_login_allowed(identifier, ip)
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.message_zh} ({exc.message_en})", code="throttled") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_login_failure(identifier, ip)
            raise
        clear_login_failures(identifier)
        return cleaned
