"""Bulk import of the institution registry from a spreadsheet (.xlsx) or a CSV file.

How a file is read
- The kind of file is told by its content, never its name: a zip holding an Excel workbook is read with openpyxl
  (read-only, streaming); text is read as CSV in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a
  superset of GBK, which Chinese Excel writes); anything else is `import.not_a_spreadsheet`.
- Line 1 is the header: Chinese column names as the export writes them (名称, 统一社会信用代码, …) or English
  aliases (name, credit_code, …). An unknown, repeated or missing required column refuses the whole file (422).
  Columns without a header, and a 序号 (row number) column, are ignored. Entirely blank rows are skipped. Dates
  may be date cells, ISO text, 2024/3/1, 2024年3月1日, 20240301 or Excel day numbers.
- Rows are streamed and counted first, stopping one row past IMPORT_MAX_ROWS: a file over the limit is refused
  (413) before any row is checked, and nothing is held in memory but the count.

What a row does
- A row whose 系统编号 (institution_id) names an institution the importer may edit updates it; otherwise a row
  whose credit code is registered updates that institution; otherwise the row registers a new one (status from
  状态, else "applied"). An update writes only the columns the file has, and an empty cell empties that field. An
  update never changes the status (that needs a reason and follows the allowed transitions): a different 状态 is
  an error.
- Every row is checked with the services' own rules (institutions.services._clean_registry and the validation
  functions) plus what only a file can get wrong: a credit code or id repeated in the file, a town the importer
  does not look after, a town name that does not exist.

All or nothing
- Every row is checked before anything is written. If any row is bad, nothing is written and the answer lists
  every bad row: its line in the spreadsheet (the header is line 1), its column as written in the file, and a
  message in Chinese and English. Otherwise all rows are written in one transaction through institution_register /
  institution_update (each audited), and one `institution.import` audit event sums the import up. A service that
  still refuses a row at that point (someone registered the same code meanwhile) rolls the whole file back.
- Files of up to IMPORT_SYNC_MAX_ROWS rows are imported during the request; larger ones become a job (core.jobs)
  run by the task institutions.import_rows, whose progress the importer polls at GET /api/v1/jobs/{id}.

Settings (read with getattr, so they need not exist): IMPORT_MAX_ROWS (20 000), IMPORT_SYNC_MAX_ROWS (200),
IMPORT_PROGRESS_EVERY (200 rows), IMPORT_MAX_UNCOMPRESSED_BYTES (256 MB, for a workbook's unzipped parts).
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import File as DjangoFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Region
from core.audit import audit_log
from core.dispatch import enqueue
from core.errors import DomainError, PermissionDenied, render
from core.jobs import error_texts, stored_message
from core.models import Job

from . import services
from .models import Category, Institution, Mode, Status
from .selectors import EDITOR_ROLES
from .validation import FieldErrors, clean_credit_code, clean_licence_dates

logger = logging.getLogger(__name__)

JOB_KIND = "institutions.import"
IMPORT_REASON = "批量导入"  # stored on the record (data, in Chinese)
RETRYABLE = (OperationalError, InterfaceError)
CHUNK = 64 * 1024


def max_rows() -> int:
    return int(getattr(settings, "IMPORT_MAX_ROWS", 20_000))


def sync_max_rows() -> int:
    return int(getattr(settings, "IMPORT_SYNC_MAX_ROWS", 200))


def progress_every() -> int:
    return max(1, int(getattr(settings, "IMPORT_PROGRESS_EVERY", 200)))


def max_uncompressed_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", 256 * 1024 * 1024))


# --- Columns ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # the service's input key
    zh: str  # the header the export writes
    en: str  # the English alias
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "名称", "name", ("机构名称",), required=True),
    Column("credit_code", "统一社会信用代码", "credit_code", ("信用代码", "uscc")),
    Column("licence_number", "办学许可证号", "licence_number", ("许可证号", "license_number")),
    Column("licence_issued_on", "发证日期", "licence_issued_on", ("license_issued_on",)),
    Column("licence_expires_on", "有效期至", "licence_expires_on", ("有效期", "license_expires_on")),
    Column("category", "类别", "category"),
    Column("mode", "形式", "mode", ("办学形式",)),
    Column("legal_representative", "法定代表人", "legal_representative"),
    Column("contact_phone", "联系电话", "contact_phone", ("phone",)),
    Column("address", "地址", "address"),
    Column("town", "所在镇街", "town", ("镇街", "town_code", "town_id"), required=True),
    Column("latitude", "纬度", "latitude", ("lat",)),
    Column("longitude", "经度", "longitude", ("lng", "lon")),
    Column(
        "floor_area_m2", "场地面积", "floor_area_m2", ("场地面积(m²)", "场地面积(m2)", "场地面积(平方米)", "floor_area")
    ),
    Column("max_students_present", "同时在校最多学生数", "max_students_present", ("max_students",)),
    Column("status", "状态", "status"),
    # Written by the export so that a re-import updates exactly the exported rows (also those without a code). Not
    # "编号": many sheets number their rows under that name, and row numbers must never be taken for institutions.
    Column("id", "系统编号", "institution_id"),
)
# Columns that are read and ignored: the row numbers Chinese sheets often start with.
IGNORED_HEADERS = {"序号"}
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _norm_header(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\ufeff", "").replace("（", "(").replace("）", ")").replace("*", "")
    return re.sub(r"\s+", "", text).lower()


_HEADER_LOOKUP: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.zh, _column.en, *_column.aliases):
        _HEADER_LOOKUP[_norm_header(_name)] = _column


def _choice_lookup(choices, extra: dict[str, str]) -> dict[str, str]:
    """Category.SUBJECT → keys 'subject', '学科类', '学科类 subject' (the old doubled label), the English label; plus
    extra spellings."""
    lookup = {}
    for value, label in choices:
        zh, en = render(label, "zh"), render(label, "en")
        for key in (value, zh, en, f"{zh} {en}"):
            if key:
                lookup[_norm_header(key)] = value
    lookup.update({_norm_header(k): v for k, v in extra.items()})
    return lookup


CATEGORY_LOOKUP = _choice_lookup(
    Category.choices,
    {"学科": Category.SUBJECT, "体育": Category.SPORTS, "文化艺术": Category.ARTS, "艺术类": Category.ARTS,
     "科技": Category.SCIENCE, "其他": Category.OTHER, "其他类": Category.OTHER, "非学科类": Category.OTHER},
)  # fmt: skip
MODE_LOOKUP = _choice_lookup(Mode.choices, {"线上+线下": Mode.BOTH, "线下线上": Mode.BOTH})
STATUS_LOOKUP = _choice_lookup(Status.choices, {"已注销": Status.CLOSED, "无证": Status.UNLICENSED})


def short_label(choices_enum, value) -> str:
    """The Chinese part of a choice's label: Category('subject') → '学科类'."""
    return render(choices_enum(value).label, "zh")


# --- Errors ----------------------------------------------------------------------------------------------------------


def _refuse(code: str, message, status: int = 422, fields=None) -> DomainError:
    return DomainError(code, message, status=status, fields=fields)


def not_a_spreadsheet(message=None) -> DomainError:
    return _refuse(
        "import.not_a_spreadsheet",
        message or _("上传的文件不是电子表格，请上传 .xlsx 或 CSV 文件"),
        fields={"file": _("不是 .xlsx 或 CSV 文件")},
    )


def row_error(line: int | None, column: str, key: str, message) -> dict:
    """One bad cell, as a job stores it (core.jobs.error_texts: the message rendered in each language)."""
    return {"line": line, "column": column, "field": key, **error_texts(message)}


class ImportRejected(DomainError):
    """Rows are bad: nothing was written. `errors` lists each one (row_error dicts), sorted by line."""

    def __init__(self, errors: list[dict]):
        self.errors = sorted(_once(errors), key=lambda e: (e["line"] or 0, _column_order(e["field"])))
        lines = len({e["line"] for e in self.errors})
        super().__init__(
            "import.invalid_rows",
            format_lazy(_("文件中有 {lines} 行数据有误，未导入任何数据；请修改后重新上传"), lines=lines),
            status=422,
            # The common error shape: one entry per bad cell, keyed "<line>.<column as written in the file>".
            fields={f"{e['line']}.{e['column']}": stored_message(e) for e in self.errors},
        )


def _once(errors: list[dict]) -> list[dict]:
    """Each bad cell once: the same line and column found by the check and again by the service is one error."""
    seen, out = set(), []
    for e in errors:
        key = (e["line"], e["field"] or e["column"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _column_order(key: str) -> int:
    keys = [c.key for c in COLUMNS]
    return keys.index(key) if key in keys else len(keys)


# --- Reading files ---------------------------------------------------------------------------------------------------

_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x1f\x8b",  # gzip
    b"RIFF",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x00\x00\x00",  # MP4 / HEIC boxes and friends
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _binary(stream):
    """The plain binary file under Django's File wrappers (UploadedFile, FieldFile)."""
    while isinstance(stream, DjangoFile) and getattr(stream, "file", None) is not None:
        stream = stream.file
    return stream


def _chunks(stream) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk


def _decodes_as(stream, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(stream):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text_encoding(stream, head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        if _decodes_as(stream, encoding):
            return encoding
    return None


def _text_lines(stream, encoding: str) -> Iterator[str]:
    """Lines with their line ends, decoded chunk by chunk (what csv.reader wants, never the whole file at once)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pending = ""
    for chunk in _chunks(stream):
        pending += decoder.decode(chunk)
        if "\n" in pending:
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


class Sheet:
    """A spreadsheet opened for streaming; `rows()` may be walked more than once (count, then check)."""

    def __init__(self, stream, kind: str, encoding: str = "", delimiter: str = ","):
        self.stream, self.kind, self.encoding, self.delimiter = stream, kind, encoding, delimiter
        self._workbook = None

    def rows(self) -> Iterator[tuple[int, list]]:
        """(line, values) for every row, the header included; values are stripped text, numbers or dates."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self):
        reader = csv.reader(_text_lines(self.stream, self.encoding), delimiter=self.delimiter)
        line = 0
        try:
            for line, cells in enumerate(reader, start=1):
                yield line, [_plain(v) for v in cells]
        except csv.Error as exc:
            raise not_a_spreadsheet(
                format_lazy(_("CSV 文件第 {line} 行无法读取：{exc}"), line=line + 1, exc=exc)
            ) from exc

    def _xlsx_rows(self):
        import openpyxl

        try:
            if self._workbook is None:
                self.stream.seek(0)
                self._workbook = openpyxl.load_workbook(self.stream, read_only=True, data_only=True)
            sheet = self._workbook.worksheets[0]
            sheet.reset_dimensions()  # a writer's <dimension> may be wrong: read what is there
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield line, [_plain(v) for v in values]
        except DomainError:
            raise
        except Exception as exc:  # a corrupt workbook fails in many ways (zip, XML, styles)
            raise not_a_spreadsheet(
                _("无法读取该 Excel 文件（文件已损坏或格式不受支持）"),
            ) from exc

    def close(self):
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None


def _plain(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def open_sheet(upload) -> Sheet:
    """Tell the kind of file by its content and open it for streaming, or refuse it."""
    stream = _binary(upload)
    stream.seek(0)
    head = stream.read(8)
    if not head:
        raise _refuse("import.empty_file", _("上传的文件是空的"))
    if head.startswith(b"PK\x03\x04"):
        _check_workbook_zip(stream)
        return Sheet(stream, "xlsx")
    if head.startswith(_OLE2):
        raise _refuse(
            "import.xls_not_supported",
            _("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV 后上传"),
            fields={"file": _("请另存为 .xlsx 或 CSV")},
        )
    if head.startswith(_BINARY_MAGIC):
        raise not_a_spreadsheet()
    encoding = _text_encoding(stream, head)
    if encoding is None:
        raise not_a_spreadsheet()
    first = next(_text_lines(stream, encoding), "")
    sample = "".join(line for line, _ in zip(_text_lines(stream, encoding), range(50), strict=False))
    if _CONTROL.search(sample.replace("\ufeff", "")):
        raise not_a_spreadsheet()
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
    return Sheet(stream, "csv", encoding, delimiter)


def _check_workbook_zip(stream) -> None:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise not_a_spreadsheet() from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names and not any(n.startswith("xl/") and n.endswith("workbook.xml") for n in names):
        raise not_a_spreadsheet()  # a .docx, a .zip of photos, …
    unzipped = sum(info.file_size for info in infos)
    if unzipped > max_uncompressed_bytes():
        limit_mb = max_uncompressed_bytes() // (1024 * 1024)
        raise _refuse(
            "import.file_too_large",
            format_lazy(_("Excel 文件解压后超过 {limit_mb} MB，请拆分后再导入"), limit_mb=limit_mb),
            status=413,
        )


# --- Header ----------------------------------------------------------------------------------------------------------


@dataclass
class Header:
    positions: dict[str, int]  # column key → index in the row
    labels: dict[str, str]  # column key → the header as written in the file

    def label(self, key: str) -> str:
        return self.labels.get(key) or (COLUMN_BY_KEY[key].zh if key in COLUMN_BY_KEY else key)

    def has(self, key: str) -> bool:
        return key in self.positions

    def values(self, cells: list) -> dict:
        return {key: (cells[i] if i < len(cells) else None) for key, i in self.positions.items()}


def read_header(sheet: Sheet) -> Header:
    first = next(iter(sheet.rows()), None)
    if first is None or not any(v not in (None, "") for v in first[1]):
        raise _refuse("import.no_header", _("第 1 行应为表头（列名）"))
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    problems: dict[str, object] = {}
    for index, raw in enumerate(first[1]):
        if raw in (None, ""):
            continue
        text = str(raw).replace("\ufeff", "").strip()
        column = _HEADER_LOOKUP.get(_norm_header(raw))
        if _norm_header(raw) in IGNORED_HEADERS:
            continue
        if column is None:
            problems[text] = _("无法识别的列")
        elif column.key in positions:
            problems[text] = format_lazy(_("与“{column}”重复"), column=labels[column.key])
        else:
            positions[column.key], labels[column.key] = index, text
    for column in COLUMNS:
        if column.required and column.key not in positions:
            problems[column.zh] = _("缺少必需的列")
    if ("latitude" in positions) != ("longitude" in positions):
        missing = COLUMN_BY_KEY["longitude" if "latitude" in positions else "latitude"]
        problems[missing.zh] = _("纬度和经度须同时提供")
    if problems:
        names = "、".join(problems)
        raise _refuse(
            "import.bad_header",
            format_lazy(
                _("表头有误：{names}。可用的列：{columns}"), names=names, columns="、".join(c.zh for c in COLUMNS)
            ),
            fields=problems,
        )
    return Header(positions, labels)


def data_rows(sheet: Sheet, header: Header) -> Iterator[tuple[int, dict]]:
    """(line, {key: value}) for each row below the header that has anything in the known columns."""
    rows = sheet.rows()
    next(rows, None)
    for line, cells in rows:
        values = header.values(cells)
        if any(v not in (None, "") for v in values.values()):
            yield line, values


def count_rows(sheet: Sheet, header: Header) -> int:
    """Data rows, counted without keeping them; refuses the file as soon as it passes IMPORT_MAX_ROWS."""
    limit, count = max_rows(), 0
    for _unused in data_rows(sheet, header):
        count += 1
        if count > limit:
            raise _refuse(
                "import.too_many_rows",
                format_lazy(
                    _("文件超过 {limit} 行的上限，未导入任何数据；请拆分为每份不超过 {limit} 行后再导入"), limit=limit
                ),
                status=413,
                fields={"file": format_lazy(_("超过 {limit} 行"), limit=limit)},
            )
    if count == 0:
        raise _refuse("import.no_rows", _("文件中没有数据行"))
    return count


# --- Checking rows ---------------------------------------------------------------------------------------------------


@dataclass
class RowPlan:
    line: int
    data: dict  # input for the service, keys as the API takes them
    target_id: int | None = None  # update this institution; None registers a new one
    status: str = Status.APPLIED


@dataclass
class CheckResult:
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        return len({e["line"] for e in self.errors})


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


EXCEL_SERIALS = (32874, 73051)  # Excel's day numbers of 1990-01-01 and 2100-01-01
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _date_input(value):
    """A date cell, or a text date as Chinese Excel writes it (2024/3/1, 2024年3月1日) made ISO; anything else is
    left for the service's date check to refuse."""
    if value in (None, "") or isinstance(value, date):
        return value
    text = _text(value)
    if re.fullmatch(r"\d{8}", text):  # 20240301
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    elif re.fullmatch(r"\d{5}(\.0+)?", text) and EXCEL_SERIALS[0] <= float(text) < EXCEL_SERIALS[1]:
        from openpyxl.utils.datetime import from_excel

        return from_excel(float(text)).date()  # a date cell that lost its date format: Excel's day number
    match = _DATE_RE.match(text)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    return text


class _Towns:
    """Town name or 9-digit code → Region id, current divisions first."""

    def __init__(self):
        self.by_key: dict[str, int] = {}
        rows = Region.objects.filter(parent__isnull=False).values_list("pk", "code", "name", "valid_to")
        for pk, code, name, valid_to in rows:
            for key in (code, name):
                if valid_to is None or key not in self.by_key:
                    self.by_key[key] = pk

    def resolve(self, value) -> int | None:
        return self.by_key.get(_text(value).replace(" ", ""))


def _lookup_existing(plans_raw: list[tuple[int, dict]], editable_towns: set[int]):
    codes, ids = set(), set()
    for _unused, values in plans_raw:
        code = clean_credit_code(_text(values.get("credit_code")) or None, FieldErrors())
        if code:
            codes.add(code)
        raw_id = _text(values.get("id"))
        if raw_id.isdigit():
            ids.add(int(raw_id))
    fields = ("pk", "credit_code", "town_id", "status", "licence_issued_on", "licence_expires_on")
    by_code, by_id = {}, {}
    codes_list, ids_list = sorted(codes), sorted(ids)
    for start in range(0, len(codes_list), 500):
        for inst in Institution.objects.filter(credit_code__in=codes_list[start : start + 500]).only(*fields):
            by_code[inst.credit_code] = inst
    for start in range(0, len(ids_list), 500):
        chunk = ids_list[start : start + 500]
        for inst in Institution.objects.filter(pk__in=chunk, town_id__in=editable_towns).only(*fields):
            by_id[inst.pk] = inst
    return by_code, by_id


def _service_input(header: Header, values: dict, errors: FieldErrors, towns: _Towns) -> dict:
    """Cells → the input the services take (only the columns the file has, so an update leaves the rest alone)."""
    data: dict = {}
    for key in header.positions:
        raw = values.get(key)
        if key in ("id", "status"):
            continue
        if key == "town":
            town_id = towns.resolve(raw) if raw not in (None, "") else None
            if raw not in (None, "") and town_id is None:
                errors.add(
                    "town_id",
                    format_lazy(_("未知的镇街“{value}”（填写镇街名称或 9 位区划代码）"), value=_text(raw)),
                )
            data["town_id"] = town_id
        elif key == "category" or key == "mode":
            lookup, enum = (CATEGORY_LOOKUP, Category) if key == "category" else (MODE_LOOKUP, Mode)
            data[key] = _choice_input(key, raw, lookup, enum, errors)
        elif key in ("licence_issued_on", "licence_expires_on"):
            data[key] = _date_input(raw)
        elif key == "floor_area_m2":
            data[key] = _two_places(raw)
        elif key in ("latitude", "longitude", "max_students_present"):
            data[key] = "" if raw is None else raw
        else:
            data[key] = _text(raw)
    return data


def _two_places(raw):
    """120.5 → "120.50", as the field stores it, so a re-import of an export is not taken for a change; a value with
    more decimals is left for the service to refuse."""
    if raw in (None, ""):
        return ""
    try:
        value = Decimal(str(raw))
        cents = value.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return raw
    return str(cents) if cents == value else raw


def _choice_input(key: str, raw, lookup: dict, enum, errors: FieldErrors) -> str | None:
    if raw in (None, ""):
        return None  # the service's default
    value = lookup.get(_norm_header(raw))
    if value is None:
        labels = [short_label(enum, v) for v in enum.values]
        errors.add(
            key, format_lazy(_("取值无效：“{value}”，可选：{choices}"), value=_text(raw), choices="、".join(labels))
        )
    return value


def check_rows(*, actor, sheet: Sheet, header: Header, on_progress: Callable[[int], None] | None = None) -> CheckResult:
    """Every row checked, nothing written: the plan of each row, or every error of every bad row."""
    editable = scope.town_ids(actor, *EDITOR_ROLES) if actor is not None else set()
    raw_rows = list(data_rows(sheet, header))  # at most IMPORT_MAX_ROWS: counted before
    by_code, by_id = _lookup_existing(raw_rows, editable)
    towns = _Towns()
    result = CheckResult()
    seen_codes: dict[str, int] = {}
    seen_targets: dict[int, int] = {}
    every = progress_every()
    for done, (line, values) in enumerate(raw_rows, start=1):
        errors = FieldErrors()
        plan = _check_row(line, values, header, errors, editable, by_code, by_id, towns, seen_codes, seen_targets)
        if errors:
            label = header.label
            for name, message in errors.fields.items():
                key = "town" if name == "town_id" else name
                result.errors.append(row_error(line, label(key), key, message))
        else:
            result.plans.append(plan)
        if on_progress and done % every == 0:
            on_progress(done)
    if on_progress:
        on_progress(len(raw_rows))
    return result


def _check_row(line, values, header, errors, editable, by_code, by_id, towns, seen_codes, seen_targets) -> RowPlan:
    # What only a file can get wrong comes first: FieldErrors keeps the first message of each field.
    data = _service_input(header, values, errors, towns)
    target = None
    raw_id = _text(values.get("id"))
    code = clean_credit_code(data.get("credit_code") or None, FieldErrors()) if "credit_code" in data else None
    if raw_id:
        target = by_id.get(int(raw_id)) if raw_id.isdigit() else None
        if target is None:
            errors.add("id", _("系统编号不存在或不在您管辖的镇街"))
    if code:
        holder = by_code.get(code)
        if code in seen_codes:
            errors.add(
                "credit_code",
                format_lazy(_("与第 {value} 行的统一社会信用代码重复"), value=seen_codes[code]),
            )
        else:
            seen_codes[code] = line
        if holder is not None and target is None and not raw_id:
            if holder.town_id in editable:
                target = holder
            else:
                errors.add(
                    "credit_code",
                    _("该统一社会信用代码已由您无权管理的镇街登记"),
                )
        elif holder is not None and target is not None and holder.pk != target.pk:
            errors.add("credit_code", _("该统一社会信用代码已由另一机构登记"))
    if target is not None:  # two rows for one institution: which one is right?
        if target.pk in seen_targets:
            first = seen_targets[target.pk]
            errors.add(
                "id" if raw_id else "credit_code",
                format_lazy(_("与第 {first} 行是同一机构"), first=first),
            )
        else:
            seen_targets[target.pk] = line

    # The services' own rules, exactly as the API applies them.
    values_clean = services._clean_registry(data, errors, partial=target is not None)
    if target is None:
        issued, expires = values_clean.get("licence_issued_on"), values_clean.get("licence_expires_on")
    else:
        issued = values_clean.get("licence_issued_on", target.licence_issued_on)
        expires = values_clean.get("licence_expires_on", target.licence_expires_on)
    clean_licence_dates(issued, expires, errors)
    town = values_clean.get("town")
    if town is not None and town.pk not in editable:
        errors.add("town_id", _("您无权在该镇街登记或修改机构"))

    status = Status.APPLIED if target is None else target.status
    raw_status = values.get("status") if header.has("status") else None
    if raw_status not in (None, ""):
        parsed = _choice_input("status", raw_status, STATUS_LOOKUP, Status, errors)
        if parsed and target is None:
            status = parsed
            # What institution_register would refuse at write time is found now, with its column, so that every
            # bad row is listed by the check (a file refused at the write pass listed only the first problem).
            services._check_licence_held(
                status, values_clean.get("licence_number"), issued, expires, errors
            )
        elif parsed and parsed not in (target.status, target.current_status):  # an export says the effective one
            errors.add(
                "status",
                format_lazy(
                    _("导入不改变已登记机构的状态（当前：{status}），请通过状态变更办理"),
                    status=short_label(Status, target.status),
                ),
            )
    return RowPlan(line=line, data=data, target_id=target.pk if target else None, status=status)


# --- Writing ---------------------------------------------------------------------------------------------------------


def write_rows(
    *, actor, plans: list[RowPlan], header: Header, job_id: int | None = None, filename: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """All rows in one transaction through the services; any refusal rolls the whole file back."""
    created = updated = 0
    errors: list[dict] = []
    every = progress_every()
    # One refresh task for the whole file after commit, instead of a poster and a risk task per row.
    with services.bulk_changes(), transaction.atomic():
        for done, plan in enumerate(plans, start=1):
            try:
                if plan.target_id is None:
                    services.institution_register(actor=actor, data=plan.data, status=plan.status, reason=IMPORT_REASON)
                    created += 1
                else:
                    services.institution_update(actor=actor, institution_id=plan.target_id, data=plan.data)
                    updated += 1
            except DomainError as exc:
                errors.extend(_errors_of(plan.line, exc, header))
            if on_progress and done % every == 0:
                on_progress(done)
        if errors:
            raise ImportRejected(errors)  # leaves the atomic block: everything above is rolled back
        audit_log(
            actor=actor,
            verb="institution.import",
            object_type="core.job" if job_id else "institutions.institution",
            object_id=job_id,
            data={"rows": len(plans), "created": created, "updated": updated, "filename": filename[:200]},
        )
    return {"created": created, "updated": updated}


# A refusal without fields still belongs to a cell: the column it is about.
_COLUMN_OF_CODE = {"permission_denied": "town", "institution.duplicate_credit_code": "credit_code"}


def _errors_of(line: int, exc: DomainError, header: Header) -> list[dict]:
    if not exc.fields:
        key = _COLUMN_OF_CODE.get(exc.code, "name")
        return [row_error(line, header.label(key), key, exc.text)]
    out = []
    for name, message in exc.fields.items():
        key = "town" if name == "town_id" else name
        if exc.code != "request.invalid":  # a refusal of its own ("already registered"): its message says more
            message = exc.text
        out.append(row_error(line, header.label(key), key, message))
    return out


# --- Entry points ----------------------------------------------------------------------------------------------------


@dataclass
class Submitted:
    result: dict | None = None  # imported during the request: {"created", "updated", "errors": []}
    job: Job | None = None  # too large for the request: the job that will do it


def require_importer(actor) -> set[int]:
    towns = scope.town_ids(actor, *EDITOR_ROLES)
    if not towns:
        raise PermissionDenied(
            _("只有教育局工作人员可以导入机构名录")
        )
    return towns


def registry_import_submit(*, actor, upload, filename: str = "") -> Submitted:
    """The upload of POST /institutions/import: refused (422/413), imported now, or handed to a job."""
    require_importer(actor)
    filename = filename or getattr(upload, "name", "") or ""
    sheet = open_sheet(upload)
    try:
        header = read_header(sheet)
        total = count_rows(sheet, header)
        if total > sync_max_rows():
            return Submitted(job=_start_job(actor, upload, total, filename))
        check = check_rows(actor=actor, sheet=sheet, header=header)
    finally:
        sheet.close()
    if check.errors:
        raise ImportRejected(check.errors)
    counts = write_rows(actor=actor, plans=check.plans, header=header, filename=filename)
    return Submitted(result={**counts, "errors": []})


def _start_job(actor, upload, total: int, filename: str) -> Job:
    from core.jobs import job_create

    with transaction.atomic():
        job = job_create(
            actor=actor,
            kind=JOB_KIND,
            task="institutions.import_rows",
            upload=_binary(upload),
            total=total,
            result={"filename": filename[:200], "passes": 2, "created": 0, "updated": 0},
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from core.jobs import job_fail

    try:
        enqueue("institutions.import_rows", args=[job_id])  # by name: the task module imports this one
    except Exception:  # the broker is down, or (eager) the task failed past its retries
        logger.exception("Import job %s could not be run", job_id)
        job_fail(job_id, errors=[_job_error("import.not_started", _("任务未能启动，请稍后重试"))])


def _job_error(code: str, message) -> dict:
    return {**row_error(None, "", "", message), "code": code}


def run_import_job(job_id: int) -> None:
    """The body of the task institutions.import_rows: claim the job, check every row, write them all or none.

    A run that dies part-way leaves nothing behind (its transaction is rolled back with its connection); the run
    that takes the job over (core.jobs: stale heartbeat) starts again from the first row. The job is marked done in
    the same transaction as the rows, and only if this run still owns it, so the rows are written once."""
    from core.jobs import job_claim, job_heartbeat, new_owner

    owner = new_owner()
    if not job_claim(job_id, owner):
        return  # finished, or another live run has it
    with job_heartbeat(job_id, owner):
        _run_claimed_import(job_id, owner)


def _run_claimed_import(job_id: int, owner: str) -> None:
    from core.jobs import JobLost, job_fail, job_finish, job_progress, job_release

    job = Job.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    try:
        require_importer(actor)
        with job.input_file.open("rb") as stored:
            sheet = open_sheet(stored)
            try:
                header = read_header(sheet)
                total = count_rows(sheet, header)
                job_progress(job_id, processed=0, total=total, phase="checking")
                check = check_rows(
                    actor=actor,
                    sheet=sheet,
                    header=header,
                    on_progress=lambda n: job_progress(job_id, processed=n, phase="checking"),
                )
            finally:
                sheet.close()
        if check.errors:
            job_fail(job_id, errors=check.errors, processed=total, failed=check.bad_lines, owner=owner)
            return
        job_progress(job_id, processed=total, phase="writing", written=0)
        with transaction.atomic():
            counts = write_rows(
                actor=actor,
                plans=check.plans,
                header=header,
                job_id=job_id,
                filename=job.result.get("filename", ""),
                on_progress=lambda n: job_progress(job_id, processed=total, phase="writing", written=n),
            )
            finished = job_finish(
                job_id,
                result={**counts, "phase": "done", "written": total},
                succeeded=counts["created"] + counts["updated"],
                processed=total,
                owner=owner,
            )
            if not finished:
                raise JobLost(job_id)  # taken over while this run was silent: its rows are rolled back
    except RETRYABLE:
        job_release(job_id, owner)  # the retry starts again from a clean slate: nothing was committed
        raise
    except JobLost:
        logger.warning("Import job %s was taken over by another run; this run's rows were rolled back", job_id)
    except ImportRejected as exc:
        job_fail(job_id, errors=exc.errors, failed=len({e["line"] for e in exc.errors}), owner=owner)
    except DomainError as exc:
        job_fail(job_id, errors=[_job_error(exc.code, exc.text)], owner=owner)
    except Exception:
        logger.exception("Import job %s failed", job_id)
        job_fail(job_id, errors=[_job_error("server.error", _("导入时发生内部错误，未导入任何数据"))],
                 owner=owner)  # fmt: skip
