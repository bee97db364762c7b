"""Bulk import and export of the registry: .xlsx and CSV (UTF-8, BOM, GBK) read by content, every bad row listed with
its line and column while nothing is written, re-imports update instead of duplicating, limits refused before any
work, large files through a job only its creator can poll, and an export that reads back as the same registry.

Files are generated here (openpyxl, csv, Pillow) rather than committed."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import jobs
from core.models import AuditEvent, Job
from institutions import imports
from institutions.models import Institution, Status
from institutions.tasks import build_poster
from tests.conftest import ROOT, TOWN_A, TOWN_B, assert_error, region
from tests.factories import image_bytes
from tests.institutions.helpers import credit_code, licence_number, make_institution

pytestmark = pytest.mark.django_db

IMPORT = "institutions/import"
EXPORT = "institutions/export.xlsx"
HEADER = [
    "名称", "统一社会信用代码", "办学许可证号", "发证日期", "有效期至", "类别", "形式", "法定代表人", "联系电话",
    "地址", "所在镇街", "纬度", "经度", "场地面积", "同时在校最多学生数", "状态",
]  # fmt: skip
ENGLISH = [
    "name", "credit_code", "licence_number", "licence_issued_on", "licence_expires_on", "category", "mode",
    "legal_representative", "contact_phone", "address", "town", "latitude", "longitude", "floor_area_m2",
    "max_students_present", "status",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def posters(monkeypatch):
    """The upkeep scheduled after an import commits, counted instead of run: one refresh task per import with every
    institution it touched (test_posters covers drawing)."""
    from institutions.bulk import refresh_institutions

    calls = []
    monkeypatch.setattr(build_poster, "delay", lambda institution_id: calls.append(institution_id))
    monkeypatch.setattr(refresh_institutions, "delay", lambda ids: calls.extend(ids))
    return calls


def code(n: int) -> str:
    return credit_code(900_000 + n)


def row(n: int, **over) -> list:
    """A good row, as a list in HEADER order; `over` replaces cells by their Chinese column name."""
    values = {
        "名称": f"涪陵区第{n}培训学校",
        "统一社会信用代码": code(n),
        "办学许可证号": licence_number(n),
        "发证日期": date(2024, 3, 1),
        "有效期至": date(2027, 2, 28),
        "类别": "文化艺术类",
        "形式": "线下",
        "法定代表人": "王某",
        "联系电话": "023-7222" + f"{n:04d}",
        "地址": f"敦仁街道兴华中路 {n} 号",
        "所在镇街": "敦仁街道",
        "纬度": 29.7031,
        "经度": 107.3898,
        "场地面积": 120.5,
        "同时在校最多学生数": 60,
        "状态": "已许可",
    }
    values.update(over)
    return [values[h] for h in HEADER]


def xlsx(rows: list[list], header: list[str] = HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def as_csv(rows: list[list], encoding: str = "utf-8", header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if v is None else (v.strftime("%Y/%m/%d") if isinstance(v, date) else v) for v in r])
    return buffer.getvalue().encode(encoding)


def upload(api, content: bytes, name: str = "机构名录.xlsx"):
    return api.client.post(f"/api/v1/{IMPORT}", {"file": SimpleUploadedFile(name, content)}, **api._headers({}))


# --- Good files -------------------------------------------------------------------------------------------------------


def test_a_good_xlsx_registers_every_row(bureau_staff, api_as, posters):
    rows = [
        row(1),
        row(2, 所在镇街=TOWN_B, 类别="学科类", 形式="线上线下", 状态=None, 纬度=None, 经度=None),  # town by its code
        row(3, 统一社会信用代码=None, 办学许可证号=None, 发证日期=None, 有效期至=None, 状态="申请中"),
    ]
    response = upload(api_as(bureau_staff), xlsx(rows))
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 3, "updated": 0, "errors": []}

    first = Institution.objects.get(credit_code=code(1))
    assert (first.name, first.category, first.mode) == ("涪陵区第1培训学校", "arts", "offline")
    assert first.status == "licensed"
    assert (first.licence_issued_on, first.licence_expires_on) == (date(2024, 3, 1), date(2027, 2, 28))
    assert (first.latitude, first.longitude) == (Decimal("29.703100"), Decimal("107.389800"))
    assert (first.floor_area_m2, first.max_students_present, first.town.code) == (Decimal("120.50"), 60, TOWN_A)
    assert first.tokens.filter(revoked_at__isnull=True).count() == 1  # registered through the service
    second = Institution.objects.get(credit_code=code(2))
    assert (second.town.code, second.category, second.mode, second.status) == (TOWN_B, "subject", "both", "applied")
    third = Institution.objects.get(name="涪陵区第3培训学校")
    assert (third.credit_code, third.status) == (None, "applied")

    verbs = list(AuditEvent.objects.values_list("verb", flat=True))
    assert verbs.count("institution.register") == 3 and verbs.count("institution.import") == 1
    summary = AuditEvent.objects.get(verb="institution.import")
    assert summary.actor == bureau_staff and summary.data["created"] == 3


def test_reimporting_the_same_credit_codes_updates_instead_of_duplicating(bureau_staff, api_as, posters):
    api = api_as(bureau_staff)
    assert upload(api, xlsx([row(1), row(2)])).json()["created"] == 2
    response = upload(api, xlsx([row(1, 联系电话="13900001111"), row(2, 地址="李渡街道新街 2 号"), row(3)]))
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 2, "errors": []}
    assert Institution.objects.count() == 3
    assert Institution.objects.get(credit_code=code(1)).contact_phone == "13900001111"
    assert Institution.objects.get(credit_code=code(2)).address == "李渡街道新街 2 号"
    updates = AuditEvent.objects.filter(verb="institution.update")
    assert updates.count() == 2  # only what changed, each audited with its before and after
    assert updates.get(object_id=str(Institution.objects.get(credit_code=code(1)).pk)).data["changes"] == {
        "contact_phone": {"from": "023-72220001", "to": "13900001111"}
    }


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_a_csv_in_gbk_or_utf8_works(encoding, bureau_staff, api_as, posters):
    content = as_csv([row(1), row(2, 类别="科技类")], encoding)
    response = upload(api_as(bureau_staff), content, "机构名录.csv")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    inst = Institution.objects.get(credit_code=code(2))
    assert (inst.name, inst.category, inst.address) == ("涪陵区第2培训学校", "science", "敦仁街道兴华中路 2 号")
    assert inst.licence_issued_on == date(2024, 3, 1)  # "2024/03/01", as Chinese Excel writes dates


def test_english_column_names_and_codes_are_accepted_and_row_numbers_ignored(bureau_staff, api_as, posters):
    make_institution("一号机构")  # a row number must not be taken for this institution's id
    # 45352: Excel's day number of 2024-03-01, from a date cell that lost its format.
    rows = [[1, *row(1, 类别="sports", 形式="online", 状态="licensed", 发证日期=45352)]]
    content = as_csv(rows, header=["序号", *ENGLISH])
    response = upload(api_as(bureau_staff), content, "registry.txt")  # the name says nothing: the content does
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    inst = Institution.objects.get(credit_code=code(1))
    assert (inst.category, inst.mode, inst.licence_issued_on) == ("sports", "online", date(2024, 3, 1))


# --- Bad rows: every one listed, nothing written ----------------------------------------------------------------------


def test_bad_rows_are_all_listed_by_line_and_column_and_nothing_is_written(bureau_staff, api_as, posters):
    rows = [
        row(1),  # line 2: good
        row(2, 统一社会信用代码="91500102MA5U12345X", 纬度=51.5074, 经度=-0.1278),  # line 3: bad code, London
        row(3, 办学许可证号="渝教民123号", 发证日期=date(2025, 1, 1), 有效期至=date(2024, 12, 31)),  # line 4
        row(4, 统一社会信用代码=code(1), 场地面积=-20, 同时在校最多学生数=-1),  # line 5: code of line 2, negatives
    ]
    api = api_as(bureau_staff)
    before = AuditEvent.objects.count()
    error = assert_error(upload(api, xlsx(rows)), 422, "import.invalid_rows")
    assert set(error["fields"]) == {
        "3.统一社会信用代码",
        "3.纬度",
        "4.办学许可证号",
        "4.有效期至",
        "5.统一社会信用代码",
        "5.场地面积",
        "5.同时在校最多学生数",
    }
    assert "3 行" in error["message"]
    assert "第 2 行" in error["fields"]["5.统一社会信用代码"]
    assert "中国" in error["fields"]["3.纬度"]
    assert Institution.objects.count() == 0  # the good row 2 was not written either
    assert AuditEvent.objects.count() == before
    assert posters == []

    english = assert_error(upload(api_as(bureau_staff, lang="en"), xlsx(rows)), 422, "import.invalid_rows")
    assert english["fields"]["4.有效期至"] == "The expiry date must be after the issue date"
    assert "nothing was imported" in english["message"]


def test_rows_outside_the_importers_towns_are_refused(town_a_staff, api_as, posters):
    elsewhere = make_institution("李渡某培训", town=TOWN_B, credit_code=code(7))
    rows = [
        row(1),
        row(2, 所在镇街="李渡街道"),  # line 3: a town this user does not look after
        row(3, 统一社会信用代码=elsewhere.credit_code),  # line 4: registered in that other town
        row(4, 所在镇街="不存在镇"),  # line 5
    ]
    error = assert_error(upload(api_as(town_a_staff), xlsx(rows)), 422, "import.invalid_rows")
    assert set(error["fields"]) == {"3.所在镇街", "4.统一社会信用代码", "5.所在镇街"}
    assert "不存在镇" in error["fields"]["5.所在镇街"]
    assert Institution.objects.count() == 1


def test_two_rows_for_one_institution_are_refused(bureau_staff, api_as, posters):
    inst = make_institution("已登记", credit_code=code(1))
    header = [*HEADER, "系统编号"]
    rows = [row(5, 名称="按编号", 统一社会信用代码=None) + [inst.pk], row(1, 名称="按代码") + [None]]
    error = assert_error(upload(api_as(bureau_staff), xlsx(rows, header=header)), 422, "import.invalid_rows")
    assert error["fields"] == {"3.统一社会信用代码": "与第 2 行是同一机构"}
    inst.refresh_from_db()
    assert inst.name == "已登记"


def test_an_import_does_not_change_a_registered_status(bureau_staff, api_as, posters):
    inst = make_institution("已登记", credit_code=code(1), status=Status.SUSPENDED)
    error = assert_error(upload(api_as(bureau_staff), xlsx([row(1, 状态="已许可")])), 422, "import.invalid_rows")
    assert "停业整顿" in error["fields"]["2.状态"]
    inst.refresh_from_db()
    assert (inst.status, inst.name) == ("suspended", "已登记")


def test_a_header_with_unknown_or_missing_columns_is_refused_naming_them(bureau_staff, api_as):
    header = [h for h in HEADER if h != "所在镇街"] + ["备注"]
    error = assert_error(upload(api_as(bureau_staff), xlsx([row(1)[:-1]], header=header)), 422, "import.bad_header")
    assert set(error["fields"]) == {"所在镇街", "备注"}
    assert "所在镇街" in error["message"] and "备注" in error["message"]
    assert Institution.objects.count() == 0


# --- Files that are not spreadsheets, and limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code_"),
    [
        (image_bytes("PNG", size=(8, 8)), "import.not_a_spreadsheet"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "import.not_a_spreadsheet"),
        (bytes(range(256)) * 4, "import.not_a_spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "import.xls_not_supported"),
        (b"", "import.empty_file"),
    ],
    ids=["png", "pdf", "binary", "legacy-xls", "empty"],
)
def test_a_file_that_is_not_a_spreadsheet_is_told_by_its_content(content, code_, bureau_staff, api_as):
    assert_error(upload(api_as(bureau_staff), content, "机构名录.xlsx"), 422, code_)


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet(bureau_staff, api_as):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert_error(upload(api_as(bureau_staff), buffer.getvalue()), 422, "import.not_a_spreadsheet")


def test_a_file_over_the_row_limit_is_refused_naming_the_limit(bureau_staff, api_as, settings):
    settings.IMPORT_MAX_ROWS = 5
    error = assert_error(upload(api_as(bureau_staff), xlsx([row(n) for n in range(1, 7)])), 413, "import.too_many_rows")
    assert "5" in error["message"]
    assert Institution.objects.count() == 0
    assert upload(api_as(bureau_staff), xlsx([row(n) for n in range(1, 6)])).status_code == 200  # at the limit: fine


def test_a_100000_row_csv_is_refused_quickly_without_checking_a_row(bureau_staff, api_as, monkeypatch):
    monkeypatch.setattr(imports, "check_rows", lambda **kw: pytest.fail("rows were checked"))
    codes = [code(n) for n in range(1000)]
    lines = [",".join(ENGLISH)]
    lines += [f"机构{n},{codes[n % 1000]},,,,其他,线下,,,,敦仁街道,,,,,申请中" for n in range(100_000)]
    content = ("\n".join(lines) + "\n").encode("utf-8")
    api = api_as(bureau_staff)
    started = time.monotonic()
    error = assert_error(upload(api, content, "big.csv"), 413, "import.too_many_rows")
    assert time.monotonic() - started < 10
    assert "20000" in error["message"]
    assert Institution.objects.count() == 0 and Job.objects.count() == 0


def odd_files() -> dict[str, tuple[bytes, int, str | None]]:
    """name → (content, expected status, expected code)."""
    header = ",".join(ENGLISH)
    good = ",".join(str(v) for v in as_csv([row(1)]).decode().splitlines()[1:2])

    def book(build) -> bytes:
        workbook = openpyxl.Workbook()
        build(workbook)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    whole = xlsx([row(1)])
    return {
        "header only": (header.encode() + b"\n", 422, "import.no_rows"),
        "text, not a table": (b"Just some notes\nabout nothing\n", 422, "import.bad_header"),
        "empty first line": (b"\n" + header.encode() + b"\n", 422, "import.no_header"),
        "quoted newline in a cell": ((header + "\n" + good.replace("王某", '"王\n某"', 1) + "\n").encode(), 200, None),
        "huge cell": ((header + "\n" + '"' + "x" * 200_000 + '"\n').encode(), 422, "import.not_a_spreadsheet"),
        "utf-16 tab-separated (Excel Unicode text)": (
            ("\t".join(ENGLISH) + "\n" + good.replace(",", "\t") + "\n").encode("utf-16"),
            200,
            None,
        ),
        "semicolons": ((header.replace(",", ";") + "\n" + good.replace(",", ";") + "\n").encode(), 200, None),
        "truncated workbook": (whole[: len(whole) // 2], 422, "import.not_a_spreadsheet"),
        "workbook without sheets' rows": (book(lambda wb: None), 422, "import.no_header"),
        "words where numbers belong": (
            xlsx([row(1, 场地面积="很大", 同时在校最多学生数=12.5, 纬度="北纬", 发证日期="去年")]),
            422,
            "import.invalid_rows",
        ),
    }


@pytest.mark.parametrize("case", list(odd_files()))
def test_odd_files_get_a_clear_answer_never_a_500(case, bureau_staff, api_as, posters):
    content, status, code_ = odd_files()[case]
    response = upload(api_as(bureau_staff), content, "file.csv")
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_error(response, status, code_)


# --- Who may import ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["parent", "inspector_a", "school_admin_x", "institution_staff"])
def test_only_bureau_editors_may_import(persona, request, api_as):
    user = request.getfixturevalue(persona)
    before = Institution.objects.count()
    assert_error(upload(api_as(user), xlsx([row(1)])), 403, "permission_denied")
    assert Institution.objects.count() == before and Job.objects.count() == 0


def test_an_import_needs_a_token(anon):
    response = anon.client.post(f"/api/v1/{IMPORT}", {"file": SimpleUploadedFile("a.xlsx", xlsx([row(1)]))})
    assert_error(response, 401)


# --- Large files: a job -----------------------------------------------------------------------------------------------


def test_a_large_import_runs_as_a_job_its_creator_can_poll(
    bureau_staff, bureau_admin, parent, api_as, settings, posters, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 5
    settings.IMPORT_PROGRESS_EVERY = 4
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # the upload arrives in a temporary file, as large ones do
    api = api_as(bureau_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, xlsx([row(n) for n in range(1, 13)]))
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]

    body = api.get(f"jobs/{job_id}").json()
    assert body["kind"] == "institutions.import"
    assert (body["status"], body["percent"], body["total"], body["processed"]) == ("done", 100, 12, 12)
    assert (body["succeeded"], body["failed"], body["errors"]) == (12, 0, [])
    assert body["result"]["created"] == 12 and body["result"]["updated"] == 0
    assert Institution.objects.count() == 12
    assert sorted(posters) == sorted(Institution.objects.values_list("pk", flat=True))  # after commit, once each
    job = Job.objects.get(pk=job_id)
    assert job.created_by == bureau_staff and not job.input_file  # the upload is not kept
    assert AuditEvent.objects.get(verb="institution.import").object_id == str(job_id)

    for other in (bureau_admin, parent):  # another editor, or anyone else: not theirs, not found
        assert_error(api_as(other).get(f"jobs/{job_id}"), 404, "not_found")
    assert_error(api.get("jobs/999999"), 404, "not_found")


def test_a_job_with_bad_rows_fails_listing_them_and_writes_nothing(
    bureau_staff, api_as, settings, posters, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 2
    rows = [row(1), row(2), row(3, 统一社会信用代码="123"), row(4, 纬度=0, 经度=0)]
    api = api_as(bureau_staff, lang="en")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, as_csv(rows, "gbk"), "big.csv")
    assert response.status_code == 202, response.content
    body = api.get(f"jobs/{response.json()['job_id']}").json()
    assert (body["status"], body["percent"], body["succeeded"], body["failed"]) == ("failed", 100, 0, 2)
    assert [(e["line"], e["column"], e["field"]) for e in body["errors"]] == [
        (4, "统一社会信用代码", "credit_code"),
        (5, "纬度", "latitude"),
    ]
    assert body["errors"][1]["message"] == "Coordinates outside China"
    assert Institution.objects.count() == 0 and posters == []


def test_progress_while_a_job_runs_never_says_100_before_it_is_done(bureau_staff):
    job = jobs.job_create(actor=bureau_staff, kind="institutions.import", total=10, result={"passes": 2})
    assert jobs.job_as_dict(job)["percent"] == 0
    assert jobs.job_claim(job.pk) and not jobs.job_claim(job.pk)  # a second delivery of the task does nothing
    jobs.job_progress(job.pk, processed=10, phase="writing", written=5)  # checked all, wrote half
    body = jobs.job_as_dict(Job.objects.get(pk=job.pk))
    assert (body["status"], body["percent"], body["processed"]) == ("running", 75, 10)
    assert body["result"]["phase"] == "writing"
    jobs.job_progress(job.pk, processed=10, written=10)
    assert jobs.job_as_dict(Job.objects.get(pk=job.pk))["percent"] == 99
    jobs.job_finish(job.pk, result={"created": 10}, succeeded=10, processed=10)
    body = jobs.job_as_dict(Job.objects.get(pk=job.pk))
    assert (body["status"], body["percent"], body["succeeded"], body["result"]["created"]) == ("done", 100, 10, 10)


def test_the_worker_knows_the_import_task():
    """A `celery worker` knows the tasks of each app's tasks.py and of the modules InstitutionsConfig.ready imports;
    the import task lives in institutions/import_tasks.py, so a worker must know it or it drops the job's message."""
    script = (
        "import django; django.setup(); from config.celery import app; "
        "app.loader.import_default_modules(); print('institutions.import_rows' in app.tasks)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().endswith("True"), out.stdout + out.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_runs_in_a_real_worker_process(bureau_staff, api_as, settings, real_worker):
    """Production lane: the job's id crosses the Redis broker, the worker reads the stored upload and the database,
    and the creator polls the result. The file is an export of the registry, so the rows update and change nothing
    (no poster rebuilds are left running in the worker after the test)."""
    from config.celery import app

    registered = app.control.inspect(timeout=5).registered() or {}
    assert any("institutions.import_rows" in names for names in registered.values()), registered
    settings.MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or ROOT / "media")  # where the worker looks
    settings.IMPORT_SYNC_MAX_ROWS = 1
    make_institution("甲培训", credit_code=code(1))
    make_institution("乙培训", credit_code=code(2), town=TOWN_B)
    api = api_as(bureau_staff)
    response = upload(api, api.get(EXPORT).content)
    assert response.status_code == 202, response.content
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = api.get(f"jobs/{response.json()['job_id']}").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert (body["status"], body["percent"], body["errors"]) == ("done", 100, []), body
    assert (body["result"]["created"], body["result"]["updated"], body["succeeded"]) == (0, 2, 2)
    assert Institution.objects.count() == 2


# --- Export -----------------------------------------------------------------------------------------------------------


def read_xlsx(content: bytes) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def test_an_export_reimported_changes_and_creates_nothing(bureau_staff, api_as, posters):
    api = api_as(bureau_staff)
    assert upload(api, xlsx([row(1), row(2, 所在镇街="李渡街道", 类别="体育类", 形式="线上")])).status_code == 200
    make_institution("无代码机构", credit_code=None, licence_number="", status=Status.UNLICENSED)
    make_institution("停业机构", town=TOWN_B, status=Status.SUSPENDED, floor_area_m2=Decimal("88.00"))
    updates_before = AuditEvent.objects.filter(verb="institution.update").count()

    response = api.get(EXPORT)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "private, no-store"
    rows = read_xlsx(response.content)
    assert rows[0] == [*HEADER, "系统编号"]
    assert len(rows) == 1 + 4
    by_name = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_name["涪陵区第2培训学校"]["类别"] == "体育类" and by_name["涪陵区第2培训学校"]["所在镇街"] == "李渡街道"
    assert by_name["停业机构"]["状态"] == "停业整顿"

    again = upload(api, response.content, "export.xlsx")
    assert again.status_code == 200, again.content
    assert again.json() == {"created": 0, "updated": 4, "errors": []}
    assert Institution.objects.count() == 4
    # The export reads back as exactly what is stored: not one field changed.
    assert AuditEvent.objects.filter(verb="institution.update").count() == updates_before


def test_an_export_holds_what_the_caller_supervises_filtered_like_the_list(town_a_staff, inspector_a, api_as):
    make_institution("敦仁美术", town=TOWN_A, category="arts")
    make_institution("敦仁体育", town=TOWN_A, category="sports", status=Status.SUSPENDED)
    make_institution("李渡美术", town=TOWN_B, category="arts")

    def names(user, **params):
        response = api_as(user).get(EXPORT, params)
        assert response.status_code == 200, response.content
        return sorted(r[0] for r in read_xlsx(response.content)[1:])

    assert names(town_a_staff) == ["敦仁体育", "敦仁美术"]  # not the other town's
    assert names(inspector_a) == ["敦仁体育", "敦仁美术"]  # inspectors of the town too
    assert names(town_a_staff, category="arts") == ["敦仁美术"]
    assert names(town_a_staff, status="suspended") == ["敦仁体育"]
    assert names(town_a_staff, q="美术") == ["敦仁美术"]
    assert names(town_a_staff, q="drty") == ["敦仁体育"]  # pinyin initials
    assert names(town_a_staff, town_id=region(TOWN_B).pk) == []
    assert AuditEvent.objects.filter(verb="institution.export", actor=town_a_staff).count() == 6


@pytest.mark.parametrize("persona", ["parent", "school_admin_x", "institution_staff"])
def test_others_cannot_export(persona, request, api_as):
    assert_error(api_as(request.getfixturevalue(persona)).get(EXPORT), 403, "permission_denied")


def test_an_export_costs_the_same_queries_for_2_or_20_institutions(bureau_staff, api_as):
    api = api_as(bureau_staff)
    for n in range(2):
        make_institution(f"机构{n}", town=TOWN_A if n % 2 else TOWN_B)
    api.get(EXPORT)  # warm: the token check caches nothing across requests, but the first call imports openpyxl

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(EXPORT).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for n in range(2, 20):
        make_institution(f"机构{n}", town=TOWN_A if n % 2 else TOWN_B)
    assert queries() == few
