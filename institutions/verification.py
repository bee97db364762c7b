"""Public verification of training institutions: the token in a poster's QR code, what a scan shows, scan counts.

A token is live until it is rotated (a forged or leaked poster); the old row stays, so a scan of the old poster says
"not valid, may be forged" instead of showing data. A scan is counted per token per day and nothing else: no
address, no device, no person.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.errors import render
from core.money import fmt

from . import policy
from .models import Category, Course, FeePackage, Institution, ScanCount, StaffMember, Status, VerificationToken

# The path printed in every QR code. Fixed on purpose: posters on walls outlive any change to the URL routing.
VERIFY_PATH = "/v/{token}"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
# Where the public reports a problem with an institution (served by the complaints app).
REPORT_PATH = "/complaints/new"
TOKEN_MAX_LENGTH = VerificationToken._meta.get_field("token").max_length
# What secrets.token_urlsafe gives; anything else (a NUL byte, a slash, a very long string) was never issued.
TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{1,{TOKEN_MAX_LENGTH}}}")

INVALID = _("此二维码无效，可能是伪造的")
INVALID_ADVICE = _("请勿缴费。如该二维码张贴在培训场所，请向教育主管部门举报。")
# The payload (and the public JSON) carries both languages, rendered from the catalogue.
INVALID_ZH, INVALID_EN = lazy(render, str)(INVALID, "zh"), lazy(render, str)(INVALID, "en")
INVALID_ADVICE_ZH = lazy(render, str)(INVALID_ADVICE, "zh")
INVALID_ADVICE_EN = lazy(render, str)(INVALID_ADVICE, "en")

ISSUED = _("该二维码由涪陵区教育主管部门发放，机构状态：{status}")

# What the public sees for each status: a key, a Chinese and an English label, a colour, and what it means for a
# parent. LICENSED shows as "valid".
PUBLIC_STATUS: dict[str, dict] = {
    Status.LICENSED: {
        "code": "valid",
        "label": pgettext_lazy("public status", "有效"),
        "tone": "green",
        "advice": _("该机构持有有效的办学许可证。"),
    },
    Status.RECTIFYING: {
        "code": "rectifying",
        "label": pgettext_lazy("public status", "整改中"),
        "tone": "orange",
        "advice": _("该机构被责令整改，请谨慎报名缴费。"),
    },
    Status.SUSPENDED: {
        "code": "suspended",
        "label": pgettext_lazy("public status", "停业整顿"),
        "tone": "red",
        "advice": _("停业整顿期间不得招生、收费或开展培训。"),
    },
    Status.REVOKED: {
        "code": "revoked",
        "label": pgettext_lazy("public status", "许可证已吊销"),
        "tone": "red",
        "advice": _("该机构办学许可证已被吊销，不得开展培训，请勿缴费。"),
    },
    Status.EXPIRED: {
        "code": "expired",
        "label": pgettext_lazy("public status", "许可证已过期"),
        "tone": "red",
        "advice": _("该机构办学许可证已过期，不得招生收费。"),
    },
    Status.UNLICENSED: {
        "code": "unlicensed",
        "label": pgettext_lazy("public status", "无证机构"),
        "tone": "red",
        "advice": _("该机构未取得办学许可证，请勿报名缴费。"),
    },
    Status.CLOSED: {
        "code": "closed",
        "label": pgettext_lazy("public status", "已注销"),
        "tone": "grey",
        "advice": _("该机构已注销，不再开展培训。"),
    },
    Status.APPLIED: {
        "code": "applied",
        "label": pgettext_lazy("public status", "申请中，尚未许可"),
        "tone": "red",
        "advice": _("该机构尚未取得办学许可证，取得前不得招生收费。"),
    },
}


def split_label(label) -> tuple[str, str]:
    """A choice's label (gettext_lazy, Chinese msgid) → (Chinese, English), for the public JSON that carries both."""
    return render(label, "zh"), render(label, "en")


# --- Tokens --------------------------------------------------------------------------------------------------------


def live_token(institution: Institution) -> VerificationToken:
    """The institution's live token, created if it has none (institutions made before tokens, data loads)."""
    token = VerificationToken.objects.filter(institution=institution, revoked_at__isnull=True).first()
    if token is not None:
        return token
    try:
        with transaction.atomic():
            return VerificationToken.objects.create(institution=institution)
    except IntegrityError:  # a concurrent caller created it first (one live token per institution)
        return VerificationToken.objects.get(institution=institution, revoked_at__isnull=True)


def revoked_count(institution: Institution) -> int:
    """How many earlier codes of the institution were rotated away (a scan of them says "may be forged")."""
    return VerificationToken.objects.filter(institution=institution, revoked_at__isnull=False).count()


def find_token(token: str) -> VerificationToken | None:
    """The token row (live or revoked) with its institution, or None for a token that was never issued."""
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        return None
    # The scan's one query for the institution: its town and escrow account come in the same join.
    related = ("institution__town", "institution__escrow")
    return VerificationToken.objects.select_related(*related).filter(token=token).first()


def public_address(token: VerificationToken | str) -> str:
    """The absolute URL printed in the QR code: PUBLIC_BASE_URL + /v/<token>."""
    value = token.token if isinstance(token, VerificationToken) else str(token)
    base = str(getattr(settings, "PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL) or DEFAULT_PUBLIC_BASE_URL)
    return base.rstrip("/") + VERIFY_PATH.format(token=value)


# --- Scans ---------------------------------------------------------------------------------------------------------


def record_scan(token_row: VerificationToken) -> None:
    """One more scan of this token today (local date). Nothing about the scanner is kept. Counted in memory and
    written in batches in production (institutions.public_cache)."""
    from .public_cache import count_scan

    count_scan(token_row.pk, timezone.localdate())


def scans_of(institution: Institution) -> dict:
    """Scan counts of an institution's tokens by day: {token_id: {date: count}}."""
    out: dict[int, dict] = {}
    for row in ScanCount.objects.filter(token__institution=institution).order_by("day"):
        out.setdefault(row.token_id, {})[row.day] = row.count
    return out


# --- What a scan shows ---------------------------------------------------------------------------------------------


def public_status(institution: Institution, today=None) -> dict[str, str]:
    """The status as the public sees it. A licence whose expiry date has passed shows as expired even before the
    registry's status catches up: a scan must never say "valid" for an expired licence."""
    status = institution.effective_status(today)
    shown = PUBLIC_STATUS[status]
    return {
        "code": shown["code"],
        "label_zh": render(shown["label"], "zh"),
        "label_en": render(shown["label"], "en"),
        "tone": shown["tone"],
        "advice_zh": render(shown["advice"], "zh"),
        "advice_en": render(shown["advice"], "en"),
    }


def report_url(institution: Institution | None = None) -> str:
    return f"{REPORT_PATH}?institution={institution.pk}" if institution is not None else REPORT_PATH


def _public_institution(token_row: VerificationToken) -> Institution:
    courses = Course.objects.filter(is_active=True).order_by("name", "id")
    teachers = StaffMember.objects.filter(role=StaffMember.StaffRole.TEACHER, is_active=True).order_by("name", "id")
    institution = token_row.institution  # with its town and escrow: find_token joined them
    prefetch_related_objects(
        [institution],
        Prefetch("courses", queryset=courses, to_attr="public_courses"),
        Prefetch(
            "public_courses__packages", queryset=FeePackage.objects.order_by("price", "id"), to_attr="public_packages"
        ),
        Prefetch("staff", queryset=teachers, to_attr="public_teachers"),
    )
    return institution


def _has_escrow(institution: Institution) -> bool:
    try:
        return institution.escrow is not None
    except Institution.escrow.RelatedObjectDoesNotExist:
        return False


# The latest published inspection result (一公开) is held by supervision, which this app never imports: supervision
# registers a provider at start-up, `provider(institution_id) -> dict | None` (date, result, public findings).
_inspection_result_providers: list = []


def register_inspection_result_provider(provider):
    if provider not in _inspection_result_providers:
        _inspection_result_providers.append(provider)
    return provider


def latest_inspection_result(institution_id: int) -> dict | None:
    for provider in _inspection_result_providers:
        found = provider(institution_id)
        if found:
            return found
    return None


def verification_payload(token: VerificationToken | str) -> dict | None:
    """What a scan shows the public, or None for a token that was never issued.

    A rotated token gives the "not valid, may be forged" state and no data. A live one gives the institution's
    public record: status, licence, approved courses with their fees, teachers with masked certificate numbers
    (never ID numbers), whether fees go to a supervised account, and where to report a problem."""
    token_row = token if isinstance(token, VerificationToken) else find_token(token)
    if token_row is None:
        return None
    checked_at = timezone.now()
    if token_row.revoked_at is not None:
        return {
            "valid": False,
            "code_state": "rotated",
            "message_zh": render(INVALID, "zh"),
            "message_en": render(INVALID, "en"),
            "advice_zh": render(INVALID_ADVICE, "zh"),
            "advice_en": render(INVALID_ADVICE, "en"),
            "checked_at": checked_at,
            "institution": None,
            "report_url": report_url(),
        }
    institution = _public_institution(token_row)
    status = public_status(institution)
    limits = policy.Limits().preload(*policy.PACKAGE_KEYS)
    category_zh, category_en = split_label(Category(institution.category).label)
    return {
        "valid": True,
        "code_state": "live",
        "message_zh": render(format_lazy(ISSUED, status=status["label_zh"]), "zh"),
        "message_en": render(format_lazy(ISSUED, status=status["label_en"]), "en"),
        "advice_zh": status["advice_zh"],
        "advice_en": status["advice_en"],
        "checked_at": checked_at,
        "institution": {
            "id": institution.pk,
            "name": institution.name,
            "status": status,
            "category": institution.category,
            "category_label_zh": category_zh,
            "category_label_en": category_en,
            "address": institution.address,
            "town": institution.town.name,
            "licence_number": institution.licence_number,
            "licence_expires_on": institution.licence_expires_on,
            "fees_under_escrow": _has_escrow(institution),
            "latest_inspection": latest_inspection_result(institution.pk),
            "courses": [
                {
                    "name": course.name,
                    "subject": course.subject,
                    "category_label_zh": split_label(Category(course.category).label)[0],
                    "category_label_en": split_label(Category(course.category).label)[1],
                    "mode_label_zh": split_label(course.get_mode_display())[0],
                    "mode_label_en": split_label(course.get_mode_display())[1],
                    "grade_range": course.grade_range,
                    "class_minutes": course.class_minutes,
                    "packages": [package_public(limits, p, course) for p in course.public_packages],
                }
                for course in institution.public_courses
            ],
            "teachers": [
                {"name": t.name, "certificate_no_masked": t.masked_certificate} for t in institution.public_teachers
            ],
        },
        "report_url": report_url(institution),
    }


def package_rule_findings(limits, package, course) -> list[dict]:
    """The rules (R-FEE-1, R-FEE-2) a fee package breaks, each with its message in both languages: wherever a package
    is shown it is marked with these, never listed as if it were approved."""
    return [
        {"rule_id": f.rule_id, "message_zh": f.message("zh"), "message_en": f.message("en")}
        for f in policy.package_findings(limits, package, course)
    ]


def package_public(limits, package, course) -> dict:
    breaks = package_rule_findings(limits, package, course)
    return {
        "name": package.name,
        "price": fmt(package.price),
        "hours": package.hours,
        "months": package.months,
        "breaks_rules": bool(breaks),
        "rule_findings": breaks,
    }


def cached_verification(token: str) -> tuple[int, dict] | None:
    """(token id, payload) for a scanned code, from this process's short public cache when it is on; None for a code
    never issued. The payload's checked_at is the time of this request."""
    from .public_cache import cached

    def compute():
        row = find_token(token)
        if row is None:
            return None
        return row.pk, verification_payload(row)

    found = cached(f"verify:{token}", compute)
    if found is None:
        return None
    token_id, payload = found
    return token_id, {**payload, "checked_at": timezone.now()}


def record_scan_of(token_id: int) -> None:
    from .public_cache import count_scan

    count_scan(token_id, timezone.localdate())
