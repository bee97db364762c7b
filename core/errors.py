"""One error type for every rule a service enforces; the API maps it to HTTP in one place (mobile_api.errors).

Messages are written once, in Chinese, through gettext: `DomainError("x.y", _("中文"), fields={"phone": _("必填")})`
with `_` = `gettext_lazy`; the English is in locale/en/LC_MESSAGES/django.po and the message is rendered in the
language of whoever reads it (the API: Accept-Language; pages: the language switch).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


class Bilingual:
    """DEPRECATED: a (Chinese, English) pair from the old two-string form, rendered in the active language.

    Kept only so code not yet converted to gettext keeps working (`DomainError(code, "中文", "English")`,
    field tuples, `json_error(message_zh=, message_en=)`); /work/tools/i18n_convert.py rewrites those calls.
    """

    __slots__ = ("zh", "en")

    def __init__(self, zh, en):
        self.zh, self.en = zh, en

    def __str__(self):
        return str(self.en if is_english() else self.zh)

    def __repr__(self):
        return f"Bilingual({self.zh!r}, {self.en!r})"

    def __eq__(self, other):
        return isinstance(other, Bilingual) and (self.zh, self.en) == (other.zh, other.en)

    __hash__ = None


def is_english(language: str | None = None) -> bool:
    return (language or translation.get_language() or "").lower().startswith("en")


def django_language(lang: str) -> str:
    """'en' / 'zh' (preferred_language's answer, or a Django code) → the Django language code to activate."""
    return "en" if is_english(lang) else "zh-hans"


def render(text, lang: str | None = None) -> str:
    """A message (str, lazy translation, Bilingual, deprecated (zh, en) tuple) as text in `lang` or the active one."""
    if isinstance(text, tuple) and len(text) == 2:
        text = Bilingual(*text)
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
    Deprecated but still accepted until every caller is converted: `DomainError(code, "中文", "English")` and
    field values given as ("中文", "English") tuples.
    """

    def __init__(
        self,
        code: str,
        message,
        message_en: str | None = None,  # DEPRECATED: the old two-string form
        *,
        status: int = 400,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(code)
        self.code = code
        self.text = Bilingual(message, message_en) if message_en is not None else message
        self.status = status
        self.fields = {
            name: Bilingual(*value) if isinstance(value, tuple) else value for name, value in (fields or {}).items()
        }
        self.headers = headers or {}

    def __str__(self):
        return f"{self.code}: {self.message_en}"

    def message(self, lang: str | None = None) -> str:
        return render(self.text, lang)

    def field_messages(self, lang: str | None = None) -> dict[str, str]:
        return {name: render(value, lang) for name, value in self.fields.items()}

    # The message in each language, for code that still reads (or prefixes) them one by one. DEPRECATED.
    @property
    def message_zh(self) -> str:
        return self.message("zh")

    @message_zh.setter
    def message_zh(self, value: str) -> None:
        self.text = Bilingual(value, self.message("en"))

    @property
    def message_en(self) -> str:
        return self.message("en")

    @message_en.setter
    def message_en(self, value: str) -> None:
        self.text = Bilingual(self.message("zh"), value)


class NotFound(DomainError):
    """The same answer for "missing" and "not yours", so ids cannot be probed.

    `NotFound(_("机构不存在"))`; DEPRECATED: `NotFound("机构", "institution")` (what, in each language).
    """

    def __init__(self, message=None, what_en: str | None = None):
        if what_en is not None:
            message = Bilingual(f"{message}不存在", f"{what_en.capitalize()} not found")
        super().__init__("not_found", message if message is not None else _("对象不存在"), status=404)


class PermissionDenied(DomainError):
    """`PermissionDenied(_("…"))`; DEPRECATED: `PermissionDenied("中文", "English")`."""

    def __init__(self, message=None, message_en: str | None = None):
        super().__init__(
            "permission_denied", message if message is not None else _("无权执行此操作"), message_en, status=403
        )


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
