"""Personal data kept the least readable way that still does the job (DESIGN.md, PIPL).

Resident ID numbers are stored as a keyed hash (exact matching, e.g. against a staff blacklist) plus the last four
characters (to tell people apart on screen); the full number is never stored or shown.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError


def normalize_id_number(raw: str | None) -> str | None:
    """The 18-character form of a valid mainland resident ID number, or None."""
    if not raw:
        return None
    try:
        return ric.validate(str(raw).strip().upper())
    except StdnumError:
        return None


def id_number_hash(number: str) -> str:
    # Keyed: the 10^17 or so valid numbers are few enough that a plain hash could be reversed by brute force.
    key = getattr(settings, "PII_HASH_KEY", "") or settings.SECRET_KEY
    return hmac.new(key.encode(), f"ric:{number.upper()}".encode(), hashlib.sha256).hexdigest()


def mask_tail(last4: str, length: int = 18) -> str:
    return "*" * (length - len(last4)) + last4 if last4 else ""


def mask_middle(value: str | None, keep_start: int = 3, keep_end: int = 4) -> str:
    """ "6222021234567890123" → "622************0123"; short values are masked whole."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
