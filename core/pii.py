"""Personal data kept the least readable way that still does the job (DESIGN.md, PIPL).

Resident ID numbers are stored as a keyed hash (exact matching, e.g. against a staff blacklist) plus the last four
characters (to tell people apart on screen); the full number is never stored or shown.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from django.conf import settings
from django.utils import timezone
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

# Provinces and equivalents: the first two digits of a resident ID number (GB/T 2260).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
ID_SHAPE = re.compile(r"\d{17}[\dX]")


def normalize_id_number(raw: str | None) -> str | None:
    """The 18-character form of a valid mainland resident ID number, or None.

    Checked: the shape, the check character, a real birth date (not in the future) and the province. Not checked:
    the county against python-stdnum's list dated by birth, which refuses 500102 (Fuling district, created 1997) for
    everyone born earlier, though the numbers issued to them there since 1997 begin with 500102."""
    if not raw:
        return None
    number = ric.compact(str(raw)).upper()
    if not ID_SHAPE.fullmatch(number) or number[:2] not in PROVINCE_CODES:
        return None
    if ric.calc_check_digit(number) != number[-1]:
        return None
    try:
        born = ric.get_birth_date(number)
    except StdnumError:
        return None
    if not date(1900, 1, 1) <= born <= timezone.localdate():
        return None
    return number


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
