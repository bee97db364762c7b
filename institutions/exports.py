"""Export of the institution registry as an .xlsx workbook that the import reads back.

The columns are the import's, with the same Chinese headers (institutions.imports.COLUMNS), choice values written as
their Chinese labels (学科类, 线下, 已许可) and the town as its name; the last column, 系统编号, is the institution's
id,
so a re-import updates exactly the exported rows, those without a credit code too. The rows are those the caller
supervises (bureau roles of their towns, every status), filtered like the list; the workbook is written in
openpyxl's write-only mode from one query (town joined), so an export costs the same few queries whatever its size.
"""

from __future__ import annotations

import io

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.audit import audit_log
from core.errors import PermissionDenied

from .imports import COLUMNS, short_label
from .models import Category, Mode, Status
from .selectors import BUREAU_ROLES, filter_registry, institutions_supervised_by

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "培训机构名录"
COLUMN_WIDTHS = {
    "name": 32, "credit_code": 22, "licence_number": 24, "licence_issued_on": 12, "licence_expires_on": 12,
    "legal_representative": 12, "contact_phone": 16, "address": 40, "town": 12, "max_students_present": 10,
}  # fmt: skip


def institutions_for_export(actor, **filters) -> QuerySet:
    if not scope.has_role(actor, *BUREAU_ROLES):
        raise PermissionDenied(_("只有教育局工作人员可以导出机构名录"))
    qs = filter_registry(institutions_supervised_by(actor), **filters)
    return qs.select_related("town").order_by("town__code", "name", "id")


def _cell_value(institution, key: str):
    if key == "id":
        return institution.pk
    if key == "town":
        return institution.town.name
    if key == "category":
        return short_label(Category, institution.category)
    if key == "mode":
        return short_label(Mode, institution.mode)
    if key == "status":  # as every page shows it: a licence expired yesterday reads 许可证过期
        return short_label(Status, institution.current_status)
    return getattr(institution, key)  # None leaves the cell empty


def write_workbook(queryset, stream) -> int:
    """The rows of `queryset` into an .xlsx written to `stream`; returns how many."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = COLUMN_WIDTHS.get(column.key, 14)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.zh)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for institution in queryset.iterator(chunk_size=2000):
        sheet.append([_cell_value(institution, column.key) for column in COLUMNS])
        count += 1
    workbook.save(stream)
    return count


def registry_export(*, actor, **filters) -> tuple[bytes, str, int]:
    """(xlsx bytes, file name, rows) of the registry the actor supervises; the export itself is audited (it carries
    names and phone numbers)."""
    qs = institutions_for_export(actor, **filters)
    buffer = io.BytesIO()
    count = write_workbook(qs, buffer)
    audit_log(
        actor=actor,
        verb="institution.export",
        object_type="institutions.institution",
        data={"rows": count, "filters": {k: v for k, v in filters.items() if v not in (None, "")}},
    )
    filename = f"{_('培训机构名录')}-{timezone.localdate():%Y%m%d}.xlsx"
    return buffer.getvalue(), filename, count
