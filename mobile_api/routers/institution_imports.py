"""Bulk import and export of the institution registry, and the jobs that run large imports.

Registered before the institution routes, so /institutions/import and /institutions/export.xlsx are not taken for
an institution's id. Non-bureau callers are refused with 403 (the endpoints exist for everyone; there is no id to
probe); a job belongs to its creator and is 404 for anyone else.
"""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Schema, Status
from pydantic import Field

from core.http import request_language
from core.jobs import access_job, job_as_dict
from institutions import exports, imports
from institutions.models import Category
from institutions.models import Status as InstitutionStatus

from ..multipart import multipart_body, read_parts
from ..schemas import ErrorOut

router = Router(tags=["institutions 培训机构"])

XLSX_RESPONSE = {
    "responses": {
        200: {
            "description": "Excel 工作簿 / Excel workbook (.xlsx)",
            "content": {exports.XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


class RowErrorOut(Schema):
    line: int | None = Field(..., description="电子表格行号（表头为第 1 行）/ spreadsheet line, the header is line 1")
    column: str = Field(..., description="文件中的列名 / the column as named in the file")
    field: str = Field(..., description="字段 / field key (name, credit_code, …)")
    message: str


class ImportResultOut(Schema):
    created: int
    updated: int
    errors: list[RowErrorOut]


class JobAcceptedOut(Schema):
    job_id: int


class JobOut(Schema):
    id: int
    kind: str
    status: Literal["pending", "running", "done", "failed"]
    percent: int = Field(..., ge=0, le=100)
    total: int
    processed: int
    succeeded: int
    failed: int
    errors: list[RowErrorOut]
    result: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None


class ExportFilters(Schema):
    town_id: int | None = Field(None, ge=1, description="所在镇街 / town id")
    category: Category | None = None
    status: InstitutionStatus | None = None
    q: str | None = Field(None, max_length=50, description="名称、拼音首字母或信用代码 / name, pinyin initials, code")


@router.post(
    "/institutions/import",
    response={
        200: ImportResultOut,
        202: JobAcceptedOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        422: ErrorOut,
    },
    summary="批量导入机构名录 Import the registry from .xlsx or CSV",
    description=(
        "上传字段 `file`：.xlsx 或 CSV（UTF-8/GBK）。第 1 行为表头（名称、统一社会信用代码、…、所在镇街、状态、"
        "系统编号）。先校验全部行：任一行有误则不写入任何数据，返回 422 并列出每个错误（字段名为“行号.列名”）。"
        "同一统一社会信用代码（或系统编号）更新已有机构，否则新登记。小文件当场导入（200），大文件转为后台任务"
        "（202，用 GET /jobs/{id} 查询进度）。\n\n"
        "Multipart field `file`: .xlsx or CSV. Every row is checked first; if any is bad nothing is written and the "
        '422 lists each bad cell under "<line>.<column>". A known credit code (or 系统编号, institution_id) updates, '
        "otherwise the row registers. Small files are imported at once (200); large ones become a job (202) to poll."
    ),
    openapi_extra=multipart_body({}, ("file",)),
)
def import_institutions(request):
    imports.require_importer(request.auth)  # before the body is read: a caller without the role gets 403 at once
    file = read_parts(request, {}, ("file",))["file"]
    submitted = imports.registry_import_submit(actor=request.auth, upload=file, filename=file.name or "")
    if submitted.job is not None:
        return Status(202, {"job_id": submitted.job.pk})
    return Status(200, submitted.result)


@router.get(
    "/jobs/{job_id}",
    response={200: JobOut, 401: ErrorOut, 404: ErrorOut},
    summary="后台任务进度 Progress of a job (its creator only)",
)
def get_job(request, job_id: int):
    return job_as_dict(access_job(request.auth, job_id), request_language(request))


@router.get(
    "/institutions/export.xlsx",
    response={401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    openapi_extra=XLSX_RESPONSE,
    summary="导出机构名录 Export the registry as .xlsx (re-importable)",
)
def export_institutions(request, filters: Query[ExportFilters]):
    content, filename, _ = exports.registry_export(
        actor=request.auth,
        town_id=filters.town_id,
        category=filters.category.value if filters.category else None,
        status=filters.status.value if filters.status else None,
        q=filters.q,
    )
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"  # names and phone numbers: not for shared caches
    return response
