"""The one JSON error shape of the API: {"error": {"code", "message", "fields"}}, Chinese unless asked for English."""

from __future__ import annotations

import json

from django.db import InterfaceError, OperationalError
from django.http import FileResponse, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from .errors import DomainError, preferred_language, render

# Answers for HTTP statuses that arrive without a DomainError (a path that does not exist, a method not allowed, …).
STATUS_ERRORS: dict[int, tuple] = {
    400: ("request.bad", _("请求无效")),
    401: ("auth.required", _("请先登录")),
    403: ("permission_denied", _("无权执行此操作")),
    404: ("not_found", _("请求的资源不存在")),
    405: ("request.method_not_allowed", _("不支持该请求方法")),
    413: ("request.too_large", _("请求内容过大")),
    415: ("request.unsupported_media_type", _("不支持的内容类型，请使用 application/json")),
    422: ("request.invalid", _("输入有误")),
    429: ("request.throttled", _("请求过于频繁，请稍后再试")),
    500: ("server.error", _("服务器内部错误，请稍后再试")),
    503: ("server.unavailable", _("服务暂不可用")),
}


def request_language(request) -> str:
    """'en' or 'zh', from Accept-Language, as the API has always chosen (see core.errors.preferred_language)."""
    return preferred_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))


def error_payload(lang: str, code: str, message, fields: dict | None = None) -> dict:
    """Messages (lazy translations or plain text) rendered in `lang`."""
    rendered = {name: render(value, lang) for name, value in (fields or {}).items()}
    return {"error": {"code": code, "message": render(message, lang), "fields": rendered}}


def json_error(
    request,
    status: int,
    code: str | None = None,
    message="",
    *,
    fields: dict | None = None,
    headers: dict | None = None,
) -> HttpResponse:
    """`json_error(request, 409, "x.y", _("中文"), fields={...})`; the message is rendered in the caller's language."""
    default_code, default_message = STATUS_ERRORS.get(status, STATUS_ERRORS[400 if status < 500 else 500])
    body = error_payload(request_language(request), code or default_code, message or default_message, fields)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def domain_error_response(request, exc: DomainError) -> HttpResponse:
    return json_error(request, exc.status, exc.code, exc.text, fields=exc.fields, headers=exc.headers)


# The database cannot be reached (a connection refused, lost or not given): the request may be tried again shortly.
DATABASE_DOWN_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 15


def is_database_down(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_DOWN_ERRORS)


def service_unavailable(request) -> HttpResponse:
    """503 `service.unavailable` with Retry-After: JSON on the API, a small page elsewhere. Renders without touching
    the database (no request context: the context processors would load the user)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return json_error(request, 503, "service.unavailable", _("服务暂时不可用，请稍后再试"), headers=headers)
    html = render_to_string("503.html", {"en": request_language(request) == "en", "retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = headers["Retry-After"]
    return response


# An uploaded file served back is inert whatever it holds: its own sandbox (no script, no same-origin access, no
# forms, no plugins), no loads from anywhere, and no type sniffing (the stored type is what the browser uses).
UPLOAD_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
INLINE_UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def uploaded_file_response(fileobj, *, content_type: str, filename: str, cache: str = "private, no-store"):
    """An uploaded document or photo, for a permission-checked view. Images stay inline (they were re-encoded by
    core.uploads, so they hold only pixels, and a reviewer on a phone opens them in a tab); anything else (PDFs) is
    an attachment, saved rather than rendered in the platform's origin."""
    response = FileResponse(fileobj, content_type=content_type)
    inline = content_type in INLINE_UPLOAD_TYPES
    response["Content-Disposition"] = content_disposition_header(as_attachment=not inline, filename=filename)
    response["Content-Security-Policy"] = UPLOAD_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache
    return response
