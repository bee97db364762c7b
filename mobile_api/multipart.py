"""Routes that take a file and must check the caller's right to the object before the body is read.

Ninja reads `File[...]`/`Form[...]` parameters before the handler runs, so a stranger's upload would be parsed
(and a malformed one answered) before `access_*` says 404. Such a handler declares its body with
`openapi_extra=multipart_body(...)` (the same OpenAPI a `File`/`Form` signature gives) and calls `read_parts` after
the access check. A malformed body raises Django's MultiPartParserError, answered 400 `request.bad_multipart` by the
API's error handlers."""

from __future__ import annotations

from typing import Any

from ninja.errors import ValidationError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError


def multipart_body(fields: dict[str, Any], files: tuple[str, ...]) -> dict:
    properties: dict[str, dict] = {}
    for name, annotation in fields.items():
        properties[name] = {**TypeAdapter(annotation).json_schema(), "title": name.replace("_", " ").title()}
    for name in files:
        properties[name] = {"format": "binary", "title": name.replace("_", " ").title(), "type": "string"}
    schema = {
        "properties": properties,
        "required": [*fields, *files],
        # The titles ninja gives such a body: files with fields, files alone (so the OpenAPI document is the same).
        "title": "MultiPartBodyParams" if fields else "FileParams",
        "type": "object",
    }
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}, "required": True}}


def read_parts(request, fields: dict[str, Any], files: tuple[str, ...]) -> dict[str, Any]:
    """The form fields (validated like ninja's Form parameters) and files; 422 listing each missing or bad one."""
    post, uploaded = request.POST, request.FILES
    values: dict[str, Any] = {}
    errors: list[dict] = []
    for name, annotation in fields.items():
        if name not in post:
            errors.append({"type": "missing", "loc": ("form", name), "msg": "Field required"})
            continue
        try:
            values[name] = TypeAdapter(annotation).validate_python(post[name])
        except PydanticValidationError as exc:
            errors.extend(dict(e, loc=("form", name, *e["loc"])) for e in exc.errors())
    for name in files:
        upload = uploaded.get(name)
        if upload is None:
            errors.append({"type": "missing", "loc": ("file", name), "msg": "Field required"})
        values[name] = upload
    if errors:
        raise ValidationError(errors)
    return values
