"""Mainland China mobile numbers: 11 digits starting 13–19; a +86 / 0086 prefix and separators are accepted."""

import re

from django.core.exceptions import ValidationError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")


def normalize_mainland_mobile(raw: str | None) -> str | None:
    """The 11-digit form, or None when it is not a mainland mobile number."""
    if raw is None:
        return None
    value = _SEPARATORS.sub("", str(raw))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return value if _MOBILE.match(value) else None


def is_mainland_mobile(raw: str | None) -> bool:
    return normalize_mainland_mobile(raw) is not None


def validate_mainland_mobile(value: str) -> None:
    if not _MOBILE.match(value or ""):
        raise ValidationError("请输入有效的中国大陆手机号 (a mainland China mobile number)", code="invalid_phone")


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"
