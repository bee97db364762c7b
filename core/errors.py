"""One error type for every rule a service enforces; the API maps it to HTTP in one place (mobile_api.errors)."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can understand: a stable code, a message in Chinese and in English, an HTTP status.

    `fields` names the input fields at fault, each with its own bilingual message: {"phone": ("…", "…")}.
    """

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        status: int = 400,
        fields: dict[str, tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.status = status
        self.fields = fields or {}
        self.headers = headers or {}

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_zh


class NotFound(DomainError):
    """The same answer for "missing" and "not yours", so ids cannot be probed."""

    def __init__(self, what_zh: str = "对象", what_en: str = "object"):
        super().__init__("not_found", f"{what_zh}不存在", f"{what_en.capitalize()} not found", status=404)


class PermissionDenied(DomainError):
    def __init__(self, message_zh: str = "无权执行此操作", message_en: str = "You may not do this"):
        super().__init__("permission_denied", message_zh, message_en, status=403)


def preferred_language(accept_language: str | None) -> str:
    """'en' when the caller's first choice is English, else 'zh' (Chinese first)."""
    if not accept_language:
        return "zh"
    best, best_q = None, -1.0
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = lang.strip().lower(), q
    return "en" if best and best.startswith("en") else "zh"
