"""The one NinjaAPI of the platform, at /api/v1/. Created once (a second NinjaAPI with the same namespace fails)."""

import json

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from core.errors import DomainError
from core.text import refuse_disguised

from .api_json import LocalTimeEncoder
from .auth import BearerAuth
from .errors import MalformedBody, install_error_handlers
from .schemas import ErrorOut


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


# Answers any operation can give, whatever its router declares (core/middleware.py, the parser above, the error
# handlers in errors.py): documented here once rather than in each router.
COMMON_RESPONSES = {
    400: "请求无效：JSON 格式错误（request.malformed_json）或含空字符（request.nul_character） / "
    "malformed JSON or a NUL character",
    503: "服务暂时不可用（service.unavailable，数据库不可达；见 Retry-After） / the database cannot be reached",
}
VALIDATION_RESPONSE = (
    422,
    "输入有误（request.invalid），如路径中的 id 不是数字、字段超长 / invalid input, e.g. a non-numeric id in the path",
)
UNAUTHORIZED_RESPONSE = (401, "缺少或无效的访问令牌 / the access token is missing, invalid, expired or revoked")


class ShuangjianOpenAPI(OpenAPISchema):
    """The document tells what the API answers: the common error answers on every operation, and an operation with
    an anonymous alternative among its auth callbacks (`GET /institutions`) is public (no security requirement)."""

    def operation_security(self, operation):
        if operation.auth_callbacks and any(
            not hasattr(auth, "openapi_security_schema") for auth in operation.auth_callbacks
        ):
            return None  # public; a token that is sent must still be valid (401 below)
        return super().operation_security(operation)

    def responses(self, operation):
        result = super().responses(operation)
        if "ErrorOut" not in self.schemas:
            self.add_schema_definitions(
                {"ErrorOut": self._create_schema_from_model(ErrorOut, remove_level=False, mode="serialization")[0]}
            )
        error = {self.api.renderer.media_type: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        common = dict(COMMON_RESPONSES)
        if operation.models:  # path, query or body parameters: pydantic refuses what does not fit
            common[VALIDATION_RESPONSE[0]] = VALIDATION_RESPONSE[1]
        if operation.auth_callbacks:
            common[UNAUTHORIZED_RESPONSE[0]] = UNAUTHORIZED_RESPONSE[1]
        for status, description in common.items():
            if status not in result:
                result[status] = {"description": description, "content": error}
        return dict(sorted(result.items()))


class ShuangjianAPI(NinjaAPI):
    """Operation ids are made from a view's module and name (ninja's rule) except for modules that moved, which keep
    the ids they were published with: `operation_id_modules` maps the new module path to the old one."""

    operation_id_modules: dict[str, str] = {}

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ShuangjianOpenAPI(self, path_prefix)

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
    institution_members,
    institutions,
    notifications,
    verification,
)

api.add_router("/", auth.router)
api.add_router("/notifications", notifications.router)
api.add_router("/", institution_imports.router)  # before the institution routes: /institutions/import, /jobs/{id}
api.add_router("/", institutions.router)
api.add_router("/", institution_members.router)  # the bureau gives and takes an institution's accounts
api.add_router("/", compliance.router)
api.add_router("/", verification.router)
api.add_router("/", complaints.router)
api.add_router("/", inspections.router)
api.add_router("/", afterschool.router)
api.add_router("/fees", afterschool.fees_router)
api.operation_id_modules = afterschool.OPERATION_ID_MODULES

from .routers import hotline  # noqa: E402 - the 12345 intake (issue 17)

api.add_router("/hotline", hotline.router)
