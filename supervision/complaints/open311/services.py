"""Open311 GeoReport v2 on top of the complaint services: the categories as services, filing through
`complaint_file` (the same checks, routing and idempotency as a parent's filing), reading back status only.

Errors are DomainError like everywhere else; the views turn them into the spec's list of {code, description}.

`media_url` (the spec: "a URL to media associated with the request, eg an image") is never fetched by the server.
Fetching a URL a client names is server-side request forgery waiting to happen (the server would reach hosts on its
own network, cloud metadata addresses, slow or huge answers, redirects to any of those), and the photo would skip
the evidence pipeline's promises (checked by content, re-encoded without EXIF). So the URL is checked to be an
http(s) address, stored on the Open311Request as a reference, returned in GET requests' `media_url`, and shown to the
handler on the desk as a link marked as external (opened in a new tab, no referrer), never embedded as an <img>: the
Content-Security-Policy allows images from our own origin only. A bureau that wants such photos fetched into the
complaint's evidence names the hosts it trusts in the setting `OPEN311_MEDIA_FETCH_HOSTS` (empty by default): only
from those is the photo fetched (`media_fetch_allowed` is the one gate), outside the filing's transaction, with a short
timeout, no redirect followed (a redirect could point anywhere), at most the photo size limit read, and then checked
as an upload (core.uploads) and cleaned like any photo. Any failure leaves just the reference: the complaint is filed
anyway."""

from __future__ import annotations

import logging
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from core import uploads
from core.errors import DomainError
from core.idempotency import fingerprint, key_reused_error
from institutions.models import CHINA_LAT, CHINA_LNG, Institution

from .. import services
from .. import system_clients as keyed
from ..models import OPEN_STATUSES, Complaint, ComplaintCategory, ComplaintStatus
from ..system_clients import hash_key
from .models import Open311Client, Open311Request

logger = logging.getLogger(__name__)

KEY_PREFIX = "sjo_"
DENIED = _("只有区级管理员可以登记 Open311 客户端")
IDEMPOTENCY_PREFIX = "o311:"
MAX_IDS = 100  # service_request_id=a,b,c…
MAX_RESULTS = 200
DEFAULT_DAYS = 90  # the spec's default and maximum span of start_date … end_date
MEDIA_URL_MAX = 500
MEDIA_FETCH_TIMEOUT = 5  # seconds, for an allow-listed host only
TEXT_MAX = {"address_string": 300, "first_name": 50, "last_name": 50, "email": 200, "phone": 30, "device_id": 100,
            "account_id": 100}  # fmt: skip


def _bad(code: str, message, status: int = 400) -> DomainError:
    return DomainError(code, message, status=status)


# --- Clients (registered by the bureau in the admin) ------------------------------------------------------------------


def client_register(*, actor, name: str, requests_per_minute: int = 30) -> tuple[Open311Client, str]:
    return keyed.client_register(
        Open311Client, actor=actor, kind="open311", user_name=f"Open311：{name}", key_prefix=KEY_PREFIX,
        verb="open311.client_register", denied=DENIED, name=name, requests_per_minute=requests_per_minute,
    )  # fmt: skip


def client_rotate_key(*, actor, client_id: int) -> str:
    return keyed.client_rotate_key(
        Open311Client, actor=actor, pk=client_id, key_prefix=KEY_PREFIX, verb="open311.client_rotate_key",
        denied=DENIED,
    )  # fmt: skip


def client_for_key(raw: str | None) -> Open311Client:
    if not raw:
        raise _bad("open311.api_key_required", _("缺少 api_key"), status=403)
    client = None
    if len(raw) <= 200:
        client = Open311Client.objects.select_related("user").filter(key_hash=hash_key(raw), is_active=True).first()
    if client is None:
        raise _bad("open311.api_key_invalid", _("api_key 无效或已停用"), status=403)
    return client


def throttle(client: Open311Client) -> None:
    """At most `requests_per_minute` filings per client per minute (a fixed window in the cache; with the cache
    unreachable, filings go on rather than fail)."""
    window = int(time.time() // 60)
    key = f"open311:rate:{client.pk}:{window}"
    try:
        count = 1 if cache.add(key, 1, 70) else cache.incr(key)
    except Exception:  # noqa: BLE001 - Redis down: not a reason to refuse a complaint
        return
    if count > client.requests_per_minute:
        raise DomainError(
            "open311.throttled",
            _("提交过于频繁，请稍后再试"),
            status=429,
            headers={"Retry-After": str(60 - int(time.time()) % 60)},
        )


# --- Services: the complaint categories -------------------------------------------------------------------------------


def categories() -> list[ComplaintCategory]:
    return list(ComplaintCategory.objects.filter(is_active=True))


def category(code: str) -> ComplaintCategory | None:
    return services.active_categories().get(code)


def towns():
    return Region.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code")


# --- Filing -----------------------------------------------------------------------------------------------------------


@dataclass
class Open311Filing:
    service_code: str
    description: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    media_url: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)  # first_name, last_name, email, phone, device_id, account_id


def _coordinate(value: str, bounds, name: str) -> float:
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        raise _bad("open311.bad_location", _("lat/long 须为数字")) from None
    if not number.is_finite() or not bounds[0] <= number <= bounds[1]:
        raise _bad("open311.bad_location", _("lat/long 须位于中国境内"))
    return float(number)


def _media_url(raw: str) -> str:
    """The reference as given, if it is an absolute http(s) URL of at most MEDIA_URL_MAX characters; '' if none."""
    value = (raw or "").strip()
    if not value:
        return ""
    try:
        if len(value) > MEDIA_URL_MAX:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise _bad(
            "open311.bad_media_url",
            _("media_url 须为 http 或 https 网址（最多 %(max)s 个字符）") % {"max": MEDIA_URL_MAX},
        ) from None
    return value


def media_fetch_allowed(url: str) -> bool:
    """Whether the server may fetch this media_url: only from a host the bureau listed in OPEN311_MEDIA_FETCH_HOSTS
    (default: none, so never)."""
    hosts = {h.lower() for h in getattr(settings, "OPEN311_MEDIA_FETCH_HOSTS", ()) or ()}
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and host in hosts


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # not followed: the answer is an error, and only the reference is kept


def media_fetch(url: str) -> SimpleUploadedFile | None:
    """The photo at an allow-listed media_url, checked as an upload; None when not allowed or anything fails."""
    if not media_fetch_allowed(url):
        return None
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": "shuangjian-open311/1", "Accept": "image/*"})
    try:
        with opener.open(request, timeout=MEDIA_FETCH_TIMEOUT) as response:
            data = response.read(services.PHOTO_MAX_BYTES + 1)
        if not data or len(data) > services.PHOTO_MAX_BYTES:
            return None
        photo = SimpleUploadedFile("media_url", data)
        uploads.check_image(photo, max_bytes=services.PHOTO_MAX_BYTES, field="media_url")
    except (OSError, ValueError, DomainError) as exc:  # URLError and HTTPError are OSErrors
        logger.info("Open311 media_url not fetched (%s): %s", url[:100], exc)
        return None
    photo.seek(0)
    return photo


def _when(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad("open311.bad_attribute", _("attribute[occurred_at] 须为 ISO 8601 时间")) from None
    if not 2000 <= value.year < 2100:
        raise _bad("open311.bad_attribute", _("attribute[occurred_at] 须为 ISO 8601 时间"))
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _institution(filing: Open311Filing) -> tuple[int | None, str | None, services.NewInstitution | None]:
    attrs = filing.attributes
    raw_id = attrs.get("institution_id", "").strip()
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise _bad("open311.bad_attribute", _("attribute[institution_id] 须为名录中的机构编号"))
        return int(raw_id), None, None
    token = attrs.get("verification_token", "").strip()
    if token:
        return None, token[:64], None
    name = attrs.get("institution_name", "").strip()[:200]
    if not name:
        raise _bad(
            "open311.institution_required",
            _("请提供 attribute[institution_name]（机构名称）或 attribute[institution_id]"),
        )
    same_name = list(Institution.objects.filter(name=name).values_list("pk", flat=True)[:2])
    if len(same_name) == 1:
        return same_name[0], None, None
    town = towns().filter(code=attrs.get("town", "").strip()[:12]).first() if attrs.get("town") else None
    if town is None:
        raise _bad("open311.town_required", _("机构不在名录中：请在 attribute[town] 中选择其所在镇街"))
    if not filing.address_string.strip():
        raise _bad("open311.address_required", _("机构不在名录中：请在 address_string 中填写其地址"))
    return None, None, services.NewInstitution(name=name, address=filing.address_string.strip()[:300], town_id=town.pk)


def request_file(
    *, client: Open311Client, filing: Open311Filing, idempotency_key: str = ""
) -> tuple[Open311Request, bool]:
    """File a complaint for the client; the same request again (or the same Idempotency-Key) answers the first."""
    if category(filing.service_code) is None:
        raise _bad("open311.unknown_service_code", _("service_code 不存在"), status=400)
    has_point = bool(filing.lat.strip() or filing.long.strip())
    if not has_point and not filing.address_string.strip():
        raise _bad("open311.location_required", _("须提供位置：lat 和 long，或 address_string"))
    lat = lng = None
    if has_point:
        if not (filing.lat.strip() and filing.long.strip()):
            raise _bad("open311.location_required", _("lat 和 long 须同时提供"))
        lat, lng = _coordinate(filing.lat, CHINA_LAT, "lat"), _coordinate(filing.long, CHINA_LNG, "long")
    for name, limit in TEXT_MAX.items():
        value = filing.contact.get(name, "") if name != "address_string" else filing.address_string
        if len(value) > limit:
            raise _bad("open311.too_long", _("%(field)s 过长（最多 %(max)s 个字符）") % {"field": name, "max": limit})
    media_url = _media_url(filing.media_url)
    institution_id, token, new = _institution(filing)
    occurred = _when(filing.attributes["occurred_at"]) if filing.attributes.get("occurred_at") else timezone.now()
    request_hash = fingerprint(
        filing.service_code, filing.description, filing.lat, filing.long, filing.address_string,
        sorted(filing.attributes.items()), sorted(filing.contact.items()), *([media_url] if media_url else []),
    )  # fmt: skip
    key = idempotency_key or IDEMPOTENCY_PREFIX + request_hash[:40]
    existing = _filed(client, key, request_hash)
    if existing is not None:
        return existing, False
    fetched = media_fetch(media_url) if media_url else None  # allow-listed hosts only, before any transaction
    complaint_filing = services.Filing(
        category=filing.service_code,
        description=filing.description,
        occurred_at=occurred,
        institution_id=institution_id,
        verification_token=token,
        new_institution=new,
        latitude=lat,
        longitude=lng,
    )
    try:
        with transaction.atomic():
            complaint, created = services.complaint_file(
                actor=client.user, filing=complaint_filing, idempotency_key=key, photos=[fetched] if fetched else []
            )
            row = Open311Request.objects.create(
                complaint=complaint,
                client=client,
                address_string=filing.address_string.strip(),
                media_url=media_url,
                request_hash=request_hash,
                **{name: filing.contact.get(name, "").strip() for name in TEXT_MAX if name != "address_string"},
            )
    except (IntegrityError, DomainError) as exc:  # the same request twice at once: the other one filed it
        if isinstance(exc, DomainError) and exc.code != "idempotency.key_reused":
            raise
        existing = _filed(client, key, request_hash)
        if existing is None:
            raise
        return existing, False
    return row, created


def _filed(client: Open311Client, key: str, request_hash: str) -> Open311Request | None:
    row = (
        Open311Request.objects.select_related("complaint")
        .filter(client=client, complaint__parent_id=client.user_id, complaint__idempotency_key=key)
        .first()
    )
    if row is not None and row.request_hash != request_hash:
        raise key_reused_error()
    return row


# --- Reading back: status and notes, never who reported ---------------------------------------------------------------


def public_status(complaint: Complaint) -> str:
    return "open" if complaint.status in OPEN_STATUSES else "closed"


def status_notes(complaint: Complaint) -> str:
    note = str(ComplaintStatus(complaint.status).label)
    if complaint.outcome:
        note += " · " + str(complaint.get_outcome_display())
        if complaint.referred_to:
            note += " · " + complaint.referred_to
    if complaint.status == ComplaintStatus.REJECTED and complaint.rejection_reason:
        note += " · " + str(complaint.get_rejection_reason_display())
    return note


def _requests():
    return Open311Request.objects.select_related("complaint__category", "complaint__institution").order_by(
        "-created_at", "-id"
    )


def request_by_id(service_request_id: str) -> Open311Request | None:
    if not service_request_id or len(service_request_id) > 40:
        return None
    return _requests().filter(complaint__tracking_number=service_request_id).first()


def request_by_token(token: str) -> Open311Request | None:
    import uuid

    try:
        value = uuid.UUID(token)
    except (ValueError, TypeError, AttributeError):
        return None
    return Open311Request.objects.select_related("complaint").filter(token=value).first()


def _date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad("open311.bad_date", _("%(name)s 须为 W3C 时间，如 2026-01-01T00:00:00Z") % {"name": name}) from None
    if not 2000 <= value.year < 2100:
        raise _bad("open311.bad_date", _("%(name)s 须为 W3C 时间，如 2026-01-01T00:00:00Z") % {"name": name})
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def requests_search(
    *, ids: str = "", service_code: str = "", start_date: str = "", end_date: str = "", status: str = ""
) -> list[Open311Request]:
    """GET requests: by ids (which overrides the rest), else the last 90 days (or start … end, at most 90 days),
    by service codes and status; newest first, at most MAX_RESULTS."""
    qs = _requests()
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()][: MAX_IDS + 1]
        if len(wanted) > MAX_IDS:
            raise _bad("open311.too_many_ids", _("一次最多查询 100 个 service_request_id"))
        return list(qs.filter(complaint__tracking_number__in=[i[:40] for i in wanted])[:MAX_RESULTS])
    end = _date(end_date, "end_date") if end_date else timezone.now()
    start = _date(start_date, "start_date") if start_date else end - timedelta(days=DEFAULT_DAYS)
    if end < start or end - start > timedelta(days=DEFAULT_DAYS):
        raise _bad("open311.bad_date_range", _("start_date 至 end_date 不能超过 90 天"))
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    if service_code:
        qs = qs.filter(complaint__category__code__in=[c.strip()[:30] for c in service_code.split(",")[:50]])
    if status:
        wanted = {s.strip() for s in status.split(",")}
        if not wanted <= {"open", "closed"}:
            raise _bad("open311.bad_status", _("status 只能为 open 或 closed"))
        if wanted == {"open"}:
            qs = qs.filter(complaint__status__in=OPEN_STATUSES)
        elif wanted == {"closed"}:
            qs = qs.exclude(complaint__status__in=OPEN_STATUSES)
    return list(qs[:MAX_RESULTS])
