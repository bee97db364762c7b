"""A school's class list: students with their guardians' phones, imported from an xlsx sheet (all rows or none, every
bad row named with its line and column) or edited one by one.

A guardian's phone is kept as the class list gives it (GuardianPhone): the guardian may have no account yet. A
parent already registered with that phone is linked to the child at once; one who signs up later is matched by it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from core.audit import audit_log
from core.errors import DomainError

from .models import GRADE_LABELS, GuardianPhone, School, SchoolClass, Student

PHONE = re.compile(r"^1[3-9]\d{9}$")
MAX_ROWS = 3000
MAX_PHONES = 4
MAX_ERRORS = 200

# Header text → key. 留守儿童 / 随迁子女 may be left out.
HEADERS = {
    "年级": "grade",
    "班级": "number",
    "班号": "number",
    "姓名": "name",
    "学生姓名": "name",
    "监护人手机": "phones",
    "监护人手机号": "phones",
    "家长手机": "phones",
    "留守儿童": "left_behind",
    "随迁子女": "migrant",
}
REQUIRED = {"grade": "年级", "number": "班级", "name": "姓名", "phones": "监护人手机"}
GRADE_BY_LABEL = {label: grade for grade, label in GRADE_LABELS.items()}
YES = {"是", "1", "y", "yes", "true", "√", "✓"}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: object  # lazy gettext


class ClassListInvalid(DomainError):
    """The sheet was refused: `rows` lists every bad row (line, column, message); nothing was imported."""

    def __init__(self, rows: list[RowError], message=None):
        self.rows = rows
        text = message or format_lazy(_("有 {n} 处错误，未导入任何学生"), n=len(rows))
        super().__init__(
            "classlist.rows_invalid",
            text,
            status=422,
            fields={"file": text},
        )


def parse_phones(raw) -> tuple[list[str], bool]:
    """(phones, all well formed) from a cell or a field: separated by spaces, commas, slashes or semicolons."""
    text = str(raw if raw is not None else "").strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    parts = [p for p in re.split(r"[\s,，;；/、]+", text) if p]
    ok = bool(parts) and len(parts) <= MAX_PHONES and all(PHONE.match(p) for p in parts)
    return list(dict.fromkeys(parts)), ok


def _grade(raw) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if text in GRADE_BY_LABEL:
        return GRADE_BY_LABEL[text]
    text = text.removesuffix("年级")
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _number(raw) -> int | None:
    text = str(raw if raw is not None else "").strip().removesuffix("班")
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and 1 <= value <= 99 else None


def _yes(raw) -> bool:
    return str(raw if raw is not None else "").strip().lower() in YES


def _read_rows(upload) -> tuple[dict[str, int], list[tuple[int, tuple]]]:
    from openpyxl import load_workbook

    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        raise DomainError(
            "classlist.not_xlsx", _("请上传 xlsx 表格"), status=415, fields={"file": _("请上传 xlsx 表格")}
        )
    try:
        sheet = load_workbook(io.BytesIO(upload.read()), read_only=True, data_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(c or "").strip() for c in next(rows)]
        body = []
        for line, row in enumerate(rows, start=2):
            if not row or all(c in (None, "") for c in row):
                continue
            body.append((line, row))
            if len(body) > MAX_ROWS:
                raise DomainError(
                    "classlist.too_many_rows",
                    format_lazy(_("一次最多导入 {n} 行"), n=MAX_ROWS),
                    status=422,
                    fields={"file": format_lazy(_("一次最多导入 {n} 行"), n=MAX_ROWS)},
                )
    except DomainError:
        raise
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise DomainError(
            "classlist.unreadable", _("表格无法读取"), status=422, fields={"file": _("表格无法读取")}
        ) from None
    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        key = HEADERS.get(h)
        if key and key not in columns:
            columns[key] = i
    missing = [label for key, label in REQUIRED.items() if key not in columns]
    if missing:
        message = format_lazy(_("缺少列：{columns}"), columns="、".join(missing))
        raise DomainError("classlist.columns_missing", message, status=422, fields={"file": message})
    return columns, body


@transaction.atomic
def class_list_import(*, actor, school: School, upload) -> dict:
    """Students of an xlsx class list (年级, 班级, 姓名, 监护人手机[, 留守儿童, 随迁子女]), all or none.

    Refused (ClassListInvalid, every bad row listed with its line and column): a grade outside the school's stage, a
    class number that is not one, an empty or too long name, a malformed phone, a student named twice in a class
    (in the sheet, or already on the school's list). Missing classes are created. Registered parents whose phone is
    given are linked at once."""
    columns, body = _read_rows(upload)
    errors: list[RowError] = []
    existing = {
        (grade, number, name)
        for grade, number, name in Student.objects.filter(school=school, is_active=True).values_list(
            "school_class__grade", "school_class__number", "name"
        )
    }
    seen: dict[tuple[int, int, str], int] = {}
    good = []
    for line, row in body:

        def cell(key, row=row):
            i = columns.get(key)
            return row[i] if i is not None and i < len(row) else None

        bad = len(errors)
        grade = _grade(cell("grade"))
        if grade is None or grade not in school.grades:
            errors.append(RowError(line, "年级", _("年级无效或不在本校学段")))
        number = _number(cell("number"))
        if number is None:
            errors.append(RowError(line, "班级", _("班号应为 1–99 的数字")))
        name = str(cell("name") or "").strip()
        if not name or len(name) > 50:
            errors.append(RowError(line, "姓名", _("请填写学生姓名（不超过 50 字）")))
        phones, phones_ok = parse_phones(cell("phones"))
        if not phones_ok:
            errors.append(RowError(line, "监护人手机", _("手机号格式有误（11 位，以 1 开头；多个用逗号分隔）")))
        if len(errors) == bad:
            key = (grade, number, name)
            if key in existing:
                errors.append(RowError(line, "姓名", _("该班已有同名学生")))
            elif key in seen:
                errors.append(
                    RowError(line, "姓名", format_lazy(_("与第 {line} 行重复"), line=seen[key]))
                )
            else:
                seen[key] = line
                good.append((grade, number, name, phones, _yes(cell("left_behind")), _yes(cell("migrant"))))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ClassListInvalid(errors)
    if not good:
        raise DomainError(
            "classlist.empty", _("表格中没有学生"), status=422, fields={"file": _("表格中没有学生")}
        )
    classes = {(c.grade, c.number): c for c in SchoolClass.objects.filter(school=school)}
    wanted = sorted({(g, n) for g, n, *_r in good})
    new_classes = [SchoolClass(school=school, grade=g, number=n) for g, n in wanted if (g, n) not in classes]
    for klass in SchoolClass.objects.bulk_create(new_classes):
        classes[(klass.grade, klass.number)] = klass
    if any(k.pk is None for k in classes.values()):  # backends that do not return ids from bulk_create
        classes = {(c.grade, c.number): c for c in SchoolClass.objects.filter(school=school)}
    students = Student.objects.bulk_create(
        [
            Student(school=school, school_class=classes[(g, n)], name=name, left_behind=lb, migrant=mg)
            for g, n, name, _phones, lb, mg in good
        ],
        batch_size=500,
    )
    if any(s.pk is None for s in students):
        by_key = {
            (s.school_class_id, s.name): s
            for s in Student.objects.filter(school=school, is_active=True).order_by("id")
        }
        students = [by_key[(classes[(g, n)].pk, name)] for g, n, name, *_r in good]
    phones_of = [(s, row[3]) for s, row in zip(students, good, strict=True)]
    GuardianPhone.objects.bulk_create(
        [GuardianPhone(student=s, phone=p) for s, phones in phones_of for p in phones], batch_size=1000
    )
    linked = _link_registered(phones_of)
    audit_log(
        actor=actor,
        verb="afterschool.class_list_imported",
        obj=school,
        data={"students": len(students), "classes_created": len(new_classes), "guardians_linked": linked},
    )
    return {"students": len(students), "classes_created": len(new_classes), "guardians_linked": linked}


def _link_registered(phones_of: list[tuple[Student, list[str]]]) -> int:
    """Link the registered parents among the phones to their children (one query to find them, one to link)."""
    all_phones = {p for _s, phones in phones_of for p in phones}
    parents = dict(
        User.objects.filter(
            phone__in=all_phones, memberships__role=Role.PARENT, memberships__is_active=True
        ).values_list("phone", "pk").distinct()
    )
    through = Student.guardians.through
    links = {
        (s.pk, parents[p]) for s, phones in phones_of for p in phones if p in parents
    }
    if links:
        already = set(
            through.objects.filter(student_id__in={s for s, _u in links}).values_list("student_id", "user_id")
        )
        through.objects.bulk_create([through(student_id=s, user_id=u) for s, u in links - already])
    return len(links)


@transaction.atomic
def student_save(
    *,
    actor,
    school: School,
    student: Student | None = None,
    class_id: int | None,
    name: str,
    guardian_phones: str | list[str],
    left_behind: bool = False,
    migrant: bool = False,
    is_active: bool = True,
) -> Student:
    """Add one student to the class list, or edit one: name, class, guardians' phones, priority flags, still at
    school. Every problem at once (one DomainError naming each field)."""
    fields = {}
    klass = SchoolClass.objects.filter(school=school, pk=class_id).first() if class_id else None
    if klass is None:
        fields["class_id"] = _("请选择本校班级")
    name = (name or "").strip()
    if not name or len(name) > 50:
        fields["name"] = _("请填写学生姓名（不超过 50 字）")
    if isinstance(guardian_phones, str):
        phones, ok = parse_phones(guardian_phones)
    else:
        phones, ok = parse_phones(" ".join(guardian_phones))
    if not ok:
        fields["guardian_phones"] = _("手机号格式有误（11 位，以 1 开头；多个用逗号分隔）")
    if not fields and is_active:
        twin = Student.objects.filter(school=school, school_class=klass, name=name, is_active=True)
        if student is not None:
            twin = twin.exclude(pk=student.pk)
        if twin.exists():
            fields["name"] = _("该班已有同名学生")
    if fields:
        first = next(iter(fields.values()))
        raise DomainError("student.invalid", first, status=422, fields=fields)
    created = student is None
    if created:
        student = Student(school=school)
        before = {}
    else:
        student = Student.objects.select_for_update().get(pk=student.pk, school=school)
        before = {
            "name": student.name,
            "class": student.school_class_id,
            "phones": sorted(student.guardian_phones.values_list("phone", flat=True)),
            "active": student.is_active,
        }
    student.school_class, student.name = klass, name
    student.left_behind, student.migrant, student.is_active = left_behind, migrant, is_active
    student.save()
    student.guardian_phones.exclude(phone__in=phones).delete()
    have = set(student.guardian_phones.values_list("phone", flat=True))
    GuardianPhone.objects.bulk_create([GuardianPhone(student=student, phone=p) for p in phones if p not in have])
    _link_registered([(student, phones)])
    audit_log(
        actor=actor,
        verb="afterschool.student_created" if created else "afterschool.student_updated",
        obj=student,
        to_state="active" if is_active else "left",
        data={"before": before, "class": klass.pk, "phones": len(phones)},
    )
    return student
