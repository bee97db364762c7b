"""The prohibited-persons register (从业禁止名单): matching a person against it and importing the bureau's sheet.

A hit is by the keyed hash of the ID number (full numbers are never stored); name + birth date is only a warning.
After an import that added entries, the admitted people are re-checked (task `afterschool.recheck_admitted`).
"""

from __future__ import annotations

import io
from datetime import date

from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.audit import audit_log
from core.dispatch import enqueue_on_commit
from core.errors import DomainError, PermissionDenied
from core.pii import id_number_hash, normalize_id_number

from .models import ProhibitedPerson
from .selectors import REVIEWER_BUREAU_ROLES


def _invalid(code: str, field: str, zh: str, en: str, status: int = 422) -> DomainError:
    return DomainError(code, zh, en, status=status, fields={field: (zh, en)})


def register_match(*, id_hash: str, name: str, birth_date: date) -> tuple[list[dict], list[dict]]:
    """(exact hits by ID hash, name + birth date warnings): two indexed queries whatever the register's size."""
    hits = [
        {"entry": e.pk, "source": e.source, "listed_on": str(e.listed_on)}
        for e in ProhibitedPerson.objects.filter(id_hash=id_hash).only("pk", "source", "listed_on")[:20]
    ]
    warnings = [
        {"entry": e.pk, "source": e.source, "listed_on": str(e.listed_on), "id_last4": e.id_last4}
        for e in ProhibitedPerson.objects.filter(name=name, birth_date=birth_date)
        .exclude(id_hash=id_hash)
        .only("pk", "source", "listed_on", "id_last4")[:20]
    ]
    return hits, warnings


REGISTER_HEADERS = {"姓名": "name", "身份证号": "id_number", "来源": "source", "列入日期": "listed_on"}


def cell_date(value) -> date | None:
    if isinstance(value, date):
        return value if not hasattr(value, "date") else value.date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except (TypeError, ValueError):
        return None


def require_register_importer(actor) -> None:
    """Only the bureau's reviewers import the register (checked before an upload's body is read)."""
    if not scope.town_ids(actor, *REVIEWER_BUREAU_ROLES):
        raise PermissionDenied(_("只有教育局可以导入从业禁止名单"))


def register_import(*, actor, upload) -> dict:
    """Entries from an xlsx sheet (header row 姓名 / 身份证号 / 来源 / 列入日期), all or none. The full ID numbers
    are hashed on the way in and never stored. Entries already on the register (same number, same source) are
    skipped, so importing the same file twice adds nothing. The re-check of admitted people runs after commit."""
    require_register_importer(actor)
    from openpyxl import load_workbook

    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        raise _invalid("register.not_xlsx", "file", "请上传 xlsx 表格", "Upload an xlsx spreadsheet", status=415)
    try:
        sheet = load_workbook(io.BytesIO(upload.read()), read_only=True, data_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(c or "").strip() for c in next(rows)]
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise _invalid("register.unreadable", "file", "表格无法读取", "The spreadsheet cannot be read") from None
    columns = {REGISTER_HEADERS[h]: i for i, h in enumerate(header) if h in REGISTER_HEADERS}
    missing = [h for h, key in REGISTER_HEADERS.items() if key not in columns]
    if missing:
        raise _invalid(
            "register.columns_missing",
            "file",
            f"缺少列：{'、'.join(missing)}",
            f"Missing columns: {', '.join(REGISTER_HEADERS[h] for h in missing)}",
        )
    entries, errors = [], []
    for line, row in enumerate(rows, start=2):
        if not row or all(c in (None, "") for c in row):
            continue

        def cell(key, row=row):
            i = columns[key]
            return row[i] if i < len(row) else None

        number = normalize_id_number(str(cell("id_number") or ""))
        name = str(cell("name") or "").strip()[:50]
        source = str(cell("source") or "").strip()[:200]
        listed_on = cell_date(cell("listed_on"))
        if number is None:
            errors.append({"line": line, "field": "身份证号", "message_en": "invalid ID number"})
        if not name or not source:
            errors.append({"line": line, "field": "姓名/来源", "message_en": "name and source are required"})
        if listed_on is None:
            errors.append({"line": line, "field": "列入日期", "message_en": "date must be YYYY-MM-DD"})
        if number and name and source and listed_on:
            entries.append(
                ProhibitedPerson(
                    id_hash=id_number_hash(number),
                    id_last4=number[-4:],
                    name=name,
                    birth_date=birth_date_of(number),
                    source=source,
                    listed_on=listed_on,
                )
            )
        if len(errors) > 200:
            break
    if errors:
        lines = "、".join(str(e["line"]) for e in errors[:10])
        raise DomainError(
            "register.rows_invalid",
            format_lazy(_("第 {lines} 行有误，未导入任何条目"), lines=lines),
            status=422,
            fields={"file": format_lazy(_("{errors} 处错误"), errors=len(errors))},
        )
    with transaction.atomic():
        before = ProhibitedPerson.objects.count()
        for start in range(0, len(entries), 2000):
            ProhibitedPerson.objects.bulk_create(entries[start : start + 2000], ignore_conflicts=True)
        added = ProhibitedPerson.objects.count() - before
        audit_log(
            actor=actor,
            verb="admission.register_imported",
            object_type="afterschool.prohibitedperson",
            data={"rows": len(entries), "added": added},
        )
        if added:
            enqueue_on_commit("afterschool.recheck_admitted")
    return {"rows": len(entries), "added": added, "skipped": len(entries) - added}


def birth_date_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))

