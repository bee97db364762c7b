import logging

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .context import client_ip, current_ip
from .http import is_database_down, json_error, service_unavailable

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_TYPES = {"application/json"}
UPLOAD_TYPES = {"multipart/form-data"}


class ApiRequestGuardMiddleware:
    """Guards the API's door: bodies too large (413) or of a type it does not read (415) are refused before
    anything is parsed, and any error answer not already in the common JSON shape is put into it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            if not request.path.startswith(API_PREFIX):
                return self.get_response(request)
            refusal = self._refuse(request)
            if refusal is not None:
                return refusal
            response = self.get_response(request)
            if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
                response = json_error(request, response.status_code, headers=_kept_headers(response))
            return response
        finally:
            current_ip.reset(token)

    def _refuse(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
            # PostgreSQL cannot store or compare a NUL character in text.
            return json_error(
                request, 400, "request.nul_character", _("输入中含有不允许的空字符")
            )
        if request.method not in BODY_METHODS:
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if length == 0 and not content_type:
            return None
        if content_type in JSON_TYPES:
            limit = settings.API_MAX_JSON_BYTES
        elif content_type in UPLOAD_TYPES:
            limit = settings.API_MAX_UPLOAD_BYTES
        else:
            return json_error(request, 415)
        if length > limit:
            return json_error(
                request,
                413,
                message=format_lazy(_("请求内容过大（上限 {limit} KB）"), limit=limit // 1024),
            )
        return None


class DatabaseUnavailableMiddleware:
    """A page whose database cannot be reached answers 503 with Retry-After, not 500 (the API maps the same errors
    in mobile_api.errors). Nothing is kept: Django drops a connection that failed at the end of the request, so the
    next request after the database comes back simply works."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_down(exception):
            logger.error("database unavailable on %s %s: %s", request.method, request.path, exception)
            return service_unavailable(request)
        return None


def _kept_headers(response) -> dict:
    return {name: response[name] for name in ("Allow", "Retry-After") if response.has_header(name)}
