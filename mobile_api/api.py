"""The one NinjaAPI of the platform, at /api/v1/. Created once (a second NinjaAPI with the same namespace fails)."""

import json

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from core.errors import DomainError
from core.text import refuse_disguised

from .api_json import LocalTimeEncoder
from .auth import BearerAuth
from .errors import MalformedBody, install_error_handlers


class StrictJSONParser(Parser):
    def parse_body(self, request):
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBody() from exc
        if b"\\u0000" in request.body and _has_nul(data):
            # PostgreSQL cannot store a NUL character in text: refused up front instead of failing deep in a query.
            raise DomainError(
                "request.nul_character", _("输入中含有不允许的空字符（\\u0000）")
            )
        refuse_disguised(data)  # bidirectional controls anywhere, invisible characters in names (core.text)
        return data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder
    json_dumps_params = {"ensure_ascii": False}


class ShuangjianAPI(NinjaAPI):
    """Operation ids are made from a view's module and name (ninja's rule) except for modules that moved, which keep
    the ids they were published with: `operation_id_modules` maps the new module path to the old one."""

    operation_id_modules: dict[str, str] = {}

    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        module = self.operation_id_modules.get(module, module)
        return (module + "_" + operation.view_func.__name__).replace(".", "_")


api = ShuangjianAPI(
    title="双减监管平台 Shuangjian API",
    version="1",
    description=(
        '涪陵区“双减”监管平台移动端接口。错误统一为 {"error": {"code", "message", "fields"}}；'
        "默认中文，`Accept-Language: en` 返回英文。\n\n"
        "Mobile API of the Fuling double-reduction supervision platform. Authenticate with "
        "`Authorization: Bearer <access_token>` from `POST /api/v1/auth/login`."
    ),
    urls_namespace="api-v1",
    auth=BearerAuth(),
    parser=StrictJSONParser(),
    renderer=LocalTimeRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

from .routers import (  # noqa: E402
    afterschool,
    auth,
    complaints,
    compliance,
    inspections,
    institution_imports,
    institutions,
    notifications,
    verification,
)

api.add_router("/", auth.router)
api.add_router("/notifications", notifications.router)
api.add_router("/", institution_imports.router)  # before the institution routes: /institutions/import, /jobs/{id}
api.add_router("/", institutions.router)
api.add_router("/", compliance.router)
api.add_router("/", verification.router)
api.add_router("/", complaints.router)
api.add_router("/", inspections.router)
api.add_router("/", afterschool.router)
api.add_router("/fees", afterschool.fees_router)
api.operation_id_modules = afterschool.OPERATION_ID_MODULES
