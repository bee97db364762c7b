"""The one JSON error shape of the API: {"error": {"code", "message", "fields"}}, Chinese unless asked for English."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from .errors import Bilingual, DomainError, preferred_language, render

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
    """Messages (lazy translations, plain text, or deprecated (zh, en) pairs) rendered in `lang`."""
    rendered = {name: render(value, lang) for name, value in (fields or {}).items()}
    return {"error": {"code": code, "message": render(message, lang), "fields": rendered}}


def json_error(
    request,
    status: int,
    code: str | None = None,
    message="",
    message_en: str = "",  # DEPRECATED: the old two-string form, with message (or message_zh=) in Chinese
    fields: dict | None = None,
    headers: dict | None = None,
    *,
    message_zh: str | None = None,  # DEPRECATED
) -> HttpResponse:
    """`json_error(request, 409, "x.y", _("中文"), fields={...})`; the message is rendered in the caller's language."""
    default_code, default_message = STATUS_ERRORS.get(status, STATUS_ERRORS[400 if status < 500 else 500])
    if message_zh is not None:
        message = message_zh
    if message and message_en:
        message = Bilingual(message, message_en)
    elif message_en and not message:
        message = Bilingual(default_message, message_en)
    body = error_payload(request_language(request), code or default_code, message or default_message, fields)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def domain_error_response(request, exc: DomainError) -> HttpResponse:
    return json_error(request, exc.status, exc.code, exc.text, fields=exc.fields, headers=exc.headers)
