"""Every API error leaves through here, in one JSON shape: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import DomainError, is_english
from core.http import DATABASE_DOWN_ERRORS, domain_error_response, json_error, service_unavailable

logger = logging.getLogger(__name__)


class MalformedBody(Exception):
    """The body is not valid JSON (raised by the API's parser)."""


# Chinese wording for pydantic's error types; the English is pydantic's own message.
_VALIDATION_ZH = {
    "missing": "必填",
    "string_type": "应为文本",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "literal_error": "取值无效",
    "enum": "取值无效",
    "datetime_parsing": "时间格式不正确（ISO 8601）",
    "datetime_from_date_parsing": "时间格式不正确（ISO 8601）",
    "date_parsing": "日期格式不正确（YYYY-MM-DD）",
    "date_from_datetime_parsing": "日期格式不正确（YYYY-MM-DD）",
    "uuid_parsing": "应为 UUID",
    "uuid_type": "应为 UUID",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "value_error": "取值无效",
    "decimal_max_places": "最多两位小数",
    "decimal_max_digits": "数字位数过多",
    "decimal_whole_digits": "数值过大",
    "decimal_type": "应为数字",
    "json_invalid": "JSON 格式错误",
}

# Handlers name their body and query schemas with one of these (the caller sees the schema's field names only).
HANDLER_ARGUMENT_NAMES = {"payload", "filters", "body"}
_LOCATION_PARTS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_name(loc: list, param_names: set[str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATION_PARTS:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in param_names:
        parts = parts[1:]  # the handler's argument name ("payload") says nothing to the caller
    return ".".join(parts) or "body"


def _message_pair(error: dict) -> tuple[str, str]:
    kind = error.get("type", "")
    en = error.get("msg", "Invalid value")
    zh = _VALIDATION_ZH.get(kind, "取值无效")
    expected = (error.get("ctx") or {}).get("expected")
    if kind in {"literal_error", "enum"} and expected:
        zh = f"取值无效，可选：{expected}"
    places = (error.get("ctx") or {}).get("decimal_places")
    if kind == "decimal_max_places" and places is not None and places != 2:
        zh = f"最多 {places} 位小数"
    return zh, en


# The validator's own English (pydantic's `msg`) beside our Chinese for its error type: chosen when rendered.
_validator_message = lazy(lambda zh, en: en if is_english() else zh, str)


def bad_multipart(request):
    return json_error(request, 400, "request.bad_multipart", _("上传内容格式有误"))


def install_error_handlers(api) -> None:
    @api.exception_handler(DomainError)
    def on_domain_error(request, exc: DomainError):
        return domain_error_response(request, exc)

    @api.exception_handler(ValidationError)
    def on_validation_error(request, exc: ValidationError):
        fields: dict[str, object] = {}
        for error in exc.errors:
            name = _field_name(list(error.get("loc", [])), HANDLER_ARGUMENT_NAMES)
            fields.setdefault(name, _validator_message(*_message_pair(error)))
        return json_error(request, 422, "request.invalid", _("输入有误，请检查各字段"), fields=fields)

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request, exc):
        return json_error(request, 401, headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, DomainError):  # refused by the parser (ninja wraps what it raises)
            return domain_error_response(request, exc.__cause__)
        if isinstance(exc.__cause__, MalformedBody) or str(exc).startswith("Cannot parse request body"):
            return json_error(
                request, 400, "request.malformed_json", _("请求体不是有效的 JSON")
            )
        return json_error(request, exc.status_code)

    @api.exception_handler(RequestDataTooBig)
    def on_too_big(request, exc):
        return json_error(request, 413)

    @api.exception_handler(MultiPartParserError)
    @api.exception_handler(TooManyFieldsSent)
    @api.exception_handler(TooManyFilesSent)
    def on_bad_multipart(request, exc):
        # Whoever reads the body (ninja's File/Form parameters or a handler reading request.FILES): a malformed
        # part (headers over 8 KB, no boundary, cut off) or too many of them is the caller's error, never a 500.
        return bad_multipart(request)

    @api.exception_handler(Http404)
    def on_404(request, exc):
        return json_error(request, 404)

    @api.exception_handler(OverflowError)
    def on_overflow(request, exc):
        # An id in the path beyond 64 bits: nothing can have it.
        return json_error(request, 404)

    for database_down in DATABASE_DOWN_ERRORS:

        @api.exception_handler(database_down)
        def on_database_down(request, exc):
            # The database cannot be reached: 503 with Retry-After, so the phone tries again (its outbox keeps it).
            logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
            return service_unavailable(request)

    @api.exception_handler(Exception)
    def on_unexpected(request, exc):
        # Logged with its stack for us; the caller gets the common shape and nothing of the inside.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return json_error(request, 500)
