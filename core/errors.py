"""One error type for every rule a service enforces; the API maps it to HTTP in one place (mobile_api.errors).

Messages are written once, in Chinese, through gettext: `DomainError("x.y", _("中文"), fields={"phone": _("必填")})`
with `_` = `gettext_lazy`; the English is in locale/en/LC_MESSAGES/django.po and the message is rendered in the
language of whoever reads it (the API: Accept-Language; pages: the language switch).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


def is_english(language: str | None = None) -> bool:
    return (language or translation.get_language() or "").lower().startswith("en")


def django_language(lang: str) -> str:
    """'en' / 'zh' (preferred_language's answer, or a Django code) → the Django language code to activate."""
    return "en" if is_english(lang) else "zh-hans"


def render(text, lang: str | None = None) -> str:
    """A message (str or lazy translation) as text in `lang` ('en' / 'zh' / a Django code) or the active one."""
    if lang is None:
        return str(text)
    with translation.override(django_language(lang)):
        return str(text)


def _joined(messages) -> str:
    return str(_("；")).join(str(m) for m in messages)


_joined_lazy = lazy(_joined, str)


def joined(messages):
    """Several messages as one, separated the way the reader's language separates clauses ("；" / "; "), rendered
    when read: `format_lazy(_("该变更不符合规定：{rules}"), rules=joined(f.text for f in findings))`."""
    return _joined_lazy(list(messages))


class DomainError(Exception):
    """A refusal the caller can understand: a stable code, one message (gettext_lazy, Chinese msgid), an HTTP status.

    `fields` names the input fields at fault, each with its own message: {"phone": _("必填")}.
    """

    def __init__(
        self,
        code: str,
        message,
        *,
        status: int = 400,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(code)
        self.code = code
        self.text = message
        self.status = status
        self.fields = dict(fields or {})
        self.headers = headers or {}

    def __str__(self):
        return f"{self.code}: {self.message_en}"

    def message(self, lang: str | None = None) -> str:
        return render(self.text, lang)

    def field_messages(self, lang: str | None = None) -> dict[str, str]:
        return {name: render(value, lang) for name, value in self.fields.items()}

    # The message rendered in one language, for logs and tests.
    @property
    def message_zh(self) -> str:
        return self.message("zh")

    @property
    def message_en(self) -> str:
        return self.message("en")


class NotFound(DomainError):
    """The same answer for "missing" and "not yours", so ids cannot be probed.

    `NotFound(_("机构不存在"))`.
    """

    def __init__(self, message=None):
        super().__init__("not_found", message if message is not None else _("对象不存在"), status=404)


class PermissionDenied(DomainError):
    """`PermissionDenied(_("…"))`."""

    def __init__(self, message=None):
        super().__init__("permission_denied", message if message is not None else _("无权执行此操作"), status=403)


def preferred_language(accept_language: str | None) -> str:
    """'en' when the caller's first choice is English, else 'zh' (Chinese first)."""
    if not accept_language:
        return "zh"
    best, best_q = None, -1.0
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _sep, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = lang.strip().lower(), q
    return "en" if best and best.startswith("en") else "zh"
