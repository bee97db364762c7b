"""Open311 GeoReport v2 endpoints (http://wiki.open311.org/GeoReport_v2): thin adapters of open311.services.

Each answers JSON or XML, chosen by the path's suffix (`services.xml`) or `?format=`, JSON by default. Errors are the
spec's list of {code, description} with the matching HTTP status: 400 bad input (an unknown service code, no
location), 403 a missing or invalid api_key, 404 an unknown request or token, 429 too many filings."""

from __future__ import annotations

from datetime import datetime, time
from xml.etree import ElementTree

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from core.errors import DomainError
from core.idempotency import clean_key

from .. import services as complaint_services
from . import services

SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-06T00:00:00+08:00"
FORMATS = {"json", "xml"}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "device_id", "account_id")

# XML: the element name of a list's items, by the list's name (the spec's documents).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class _Unsupported(Exception):
    pass


def _format(request, fmt: str | None) -> str:
    chosen = (fmt or request.GET.get("format") or "json").lower()
    if chosen not in FORMATS:
        raise _Unsupported(chosen)
    return chosen


def _xml_value(parent, tag: str, value) -> None:
    element = ElementTree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, sub in value.items():
            _xml_value(element, key, sub)
    elif isinstance(value, list):
        for sub in value:
            _xml_value(element, ITEM_TAGS.get(tag, "item"), sub)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _render(data, fmt: str, root: str, status: int = 200, headers=None) -> HttpResponse:
    if fmt == "xml":
        element = ElementTree.Element(root)
        items = data if isinstance(data, list) else None
        if items is not None:
            for item in items:
                _xml_value(element, ITEM_TAGS.get(root, "item"), item)
        else:
            for key, value in data.items():
                _xml_value(element, key, value)
        body = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
        response = HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    else:
        response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


SPEC_STATUS = {401: 403, 409: 400, 413: 400, 415: 400, 422: 400}


def _errors(fmt: str, status: int, description: str, headers=None) -> HttpResponse:
    return _render([{"code": status, "description": description}], fmt, "errors", status=status, headers=headers)


def _domain_errors(fmt: str, exc: DomainError) -> HttpResponse:
    status = SPEC_STATUS.get(exc.status, exc.status)
    description = exc.message()
    fields = exc.field_messages()
    if fields:
        description += "（" + "；".join(f"{k}: {v}" for k, v in fields.items()) + "）"
    return _errors(fmt, status, description, headers=exc.headers)


def _open311(view):
    """The format chosen, errors in the spec's shape (an unsupported format answers in JSON)."""

    def wrapped(request, *args, fmt=None, **kwargs):
        try:
            chosen = _format(request, fmt)
        except _Unsupported:
            return _errors("json", 400, _("只支持 json 或 xml 格式"))
        try:
            return view(request, chosen, *args, **kwargs)
        except DomainError as exc:
            return _domain_errors(chosen, exc)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# --- Discovery and services -------------------------------------------------------------------------------------------


@require_safe
@_open311
def discovery(request, fmt):
    base = request.build_absolute_uri(reverse("open311-root")).rstrip("/")
    return _render(
        {
            "changeset": CHANGESET,
            "contact": _("涪陵区教育委员会 双减投诉受理"),
            "key_service": _("api_key 由区教委登记发放（管理后台：Open311 客户端）"),
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        },
        fmt,
        "discovery",
    )


def _service(category) -> dict:
    return {
        "service_code": category.code,
        "service_name": str(complaint_services.category_name(category)),
        "description": _("答复时限 %(days)s 个工作日") % {"days": category.answer_working_days},
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": _("校外培训投诉"),
    }


@require_safe
@_open311
def service_list(request, fmt):
    return _render([_service(c) for c in services.categories()], fmt, "services")


def _attributes() -> list[dict]:
    towns = [{"key": t.code, "name": t.name} for t in services.towns()]
    rows = [
        ("institution_id", "number", False, _("机构名录中的编号（已知时填写）"), []),
        ("institution_name", "string", False, _("被投诉机构名称（不知编号时必填）"), []),
        ("town", "singlevaluelist", False, _("机构所在镇街（机构不在名录中时必填）"), towns),
        ("verification_token", "string", False, _("机构海报二维码中的核验码（可代替机构名称）"), []),
        ("occurred_at", "datetime", False, _("发生时间（ISO 8601，默认为提交时间）"), []),
    ]
    return [
        {
            "variable": True,
            "code": code,
            "datatype": datatype,
            "required": required,
            "datatype_description": "",
            "order": order,
            "description": description,
            **({"values": values} if values else {}),
        }
        for order, (code, datatype, required, description, values) in enumerate(rows, start=1)
    ]


@require_safe
@_open311
def service_definition(request, fmt, service_code: str):
    if services.category(service_code) is None:
        return _errors(fmt, 404, _("service_code 不存在"))
    return _render({"service_code": service_code, "attributes": _attributes()}, fmt, "service_definition")


# --- Requests ---------------------------------------------------------------------------------------------------------


def _request_out(row) -> dict:
    c = row.complaint
    expected = None
    if c.sla_due_on and c.status in services.OPEN_STATUSES:
        expected = _iso(timezone.make_aware(datetime.combine(c.sla_due_on, time(23, 59, 59))))
    return {
        "service_request_id": c.tracking_number,
        "status": services.public_status(c),
        "status_notes": services.status_notes(c),
        "service_name": str(complaint_services.category_name(c.category)),
        "service_code": c.category.code,
        "agency_responsible": _("涪陵区教育委员会"),
        "service_notice": "",
        "requested_datetime": _iso(c.created_at),
        "updated_datetime": _iso(c.updated_at),
        "expected_datetime": expected,
        "address": row.address_string,
        "lat": None if c.latitude is None else float(c.latitude),
        "long": None if c.longitude is None else float(c.longitude),
        "media_url": row.media_url or None,  # the client's own reference, given back as sent (never fetched)
    }


def _filing_from(post) -> services.Open311Filing:
    def text(name: str) -> str:
        value = post.get(name, "")
        return value if isinstance(value, str) else ""

    attributes = {}
    for key in post:
        if key.startswith("attribute[") and key.endswith("]"):
            attributes[key[len("attribute[") : -1][:40]] = text(key)
    return services.Open311Filing(
        service_code=text("service_code")[:30],
        description=text("description"),
        lat=text("lat")[:40],
        long=text("long")[:40],
        address_string=text("address_string"),
        media_url=text("media_url"),
        attributes=attributes,
        contact={name: text(name) for name in CONTACT_FIELDS},
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@_open311
def requests_view(request, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    rows = services.requests_search(
        ids=request.GET.get("service_request_id", ""),
        service_code=request.GET.get("service_code", ""),
        start_date=request.GET.get("start_date", ""),
        end_date=request.GET.get("end_date", ""),
        status=request.GET.get("status", ""),
    )
    return _render([_request_out(r) for r in rows], fmt, "service_requests")


def _create(request, fmt):
    try:
        post = request.POST
    except (MultiPartParserError, SuspiciousOperation):  # a malformed body, or too many fields
        return _errors(fmt, 400, _("请求体格式有误"))
    client = services.client_for_key(post.get("api_key") or request.GET.get("api_key"))
    services.throttle(client)
    key = clean_key(request.headers.get("Idempotency-Key"))
    row, created = services.request_file(client=client, filing=_filing_from(post), idempotency_key=key)
    body = [
        {
            "service_request_id": row.complaint.tracking_number,
            "token": str(row.token),
            "service_notice": _("已受理，受理编号 %(number)s，可凭编号查询办理进度")
            % {"number": row.complaint.tracking_number},
            "account_id": row.account_id or None,
        }
    ]
    return _render(body, fmt, "service_requests", status=201 if created else 200)


@require_safe
@_open311
def request_detail(request, fmt, service_request_id: str):
    row = services.request_by_id(service_request_id)
    if row is None:
        return _errors(fmt, 404, _("service_request_id 不存在"))
    return _render([_request_out(row)], fmt, "service_requests")


@require_safe
@_open311
def token_detail(request, fmt, token: str):
    row = services.request_by_token(token)
    if row is None:
        return _errors(fmt, 404, _("token 不存在"))
    return _render([{"service_request_id": row.complaint.tracking_number, "token": str(row.token)}], fmt,
                   "service_requests")  # fmt: skip
