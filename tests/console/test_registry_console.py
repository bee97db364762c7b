"""The registry at work (/console/registry/): bureau staff filter, search, sort and page the institutions of their
towns, joined with complaint and order facts; see them on a map; export the filtered list; import a file with a
progress bar and every bad row listed once by line and column. Others get 404; a page costs the same queries for 2 or
20 rows."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from institutions.models import Institution
from institutions.services import institution_change_status
from supervision.complaints.cache import complaints_changed
from supervision.inspections.models import RectificationOrder
from tests.conftest import PASSWORD, TOWN_A, TOWN_B, make_user, region
from tests.factories import ComplaintFactory, FindingFactory, InspectionFactory
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db

URL = "/console/registry/"


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username or user.phone, password=PASSWORD)
    return client


@pytest.fixture
def staff_a(db):
    return make_user("甲镇科员", Role.BUREAU_STAFF, region=region(TOWN_A))


def names(response) -> list[str]:
    return [i.name for i in response.context["page"].object_list]


def order(institution, user, due_on, status="open"):
    finding = FindingFactory(inspection=InspectionFactory(institution=institution))
    return RectificationOrder.objects.create(
        finding=finding, institution=institution, town=institution.town, due_on=due_on, evidence_required="整改",
        issued_by=user, status=status,
    )  # fmt: skip


def test_staff_filter_by_town_category_status_risk_expiry_complaints_and_orders(bureau_staff, parent):
    today = timezone.localdate()
    a = make_institution("新东方培训学校", category="subject", risk_grade="D", latitude="29.70", longitude="107.39")
    b = make_institution("乙镇美术", town=TOWN_B, licence_expires_on=today + timedelta(days=10))
    c = make_institution("无证托管班", status="unlicensed", licence_number="")
    ComplaintFactory(institution=b, parent=parent)  # open (submitted)
    order(c, bureau_staff, today - timedelta(days=1))  # overdue
    order(a, bureau_staff, today + timedelta(days=5))  # open, not overdue
    client = signed_in(bureau_staff)

    assert set(names(client.get(URL))) == {a.name, b.name, c.name}
    assert names(client.get(URL, {"town": region(TOWN_B).pk})) == [b.name]
    assert names(client.get(URL, {"category": "subject"})) == [a.name]
    assert names(client.get(URL, {"status": "unlicensed"})) == [c.name]
    assert names(client.get(URL, {"risk": "D"})) == [a.name]
    assert names(client.get(URL, {"expiring": "30"})) == [b.name]
    assert names(client.get(URL, {"complaints": "open"})) == [b.name]
    assert set(names(client.get(URL, {"orders": "open"}))) == {a.name, c.name}
    assert names(client.get(URL, {"orders": "overdue"})) == [c.name]
    assert names(client.get(URL, {"q": "xdf"})) == [a.name]  # pinyin initials
    page = client.get(URL, {"orders": "overdue"}).content.decode()
    assert "逾期 1" in page and f"/console/institutions/{c.pk}/" in page


def test_a_bad_filter_value_is_said_and_ignored_never_a_500(bureau_staff):
    make_institution("甲")
    response = signed_in(bureau_staff).get(URL, {"expiring": "abc", "status": "nonsense", "town": "9" * 30})
    assert response.status_code == 200
    assert "到期天数应为 1–730 的整数" in response.content.decode()
    assert names(response) == ["甲"]


def test_sorting_and_paging_keep_the_filters(bureau_staff):
    for n in range(25):
        make_institution(f"机构{n:02d}", risk_grade="D" if n == 7 else "A")
    client = signed_in(bureau_staff)
    first = client.get(URL, {"sort": "risk"})
    assert names(first)[0] == "机构07" and len(names(first)) == 20
    assert "sort=risk&amp;page=2" in first.content.decode()
    assert len(names(client.get(URL, {"sort": "risk", "page": 2}))) == 5


def test_staff_see_only_their_towns_and_others_get_404(staff_a, inspector_a, parent, institution_staff):
    make_institution("甲镇机构")
    make_institution("乙镇机构", town=TOWN_B)
    assert names(signed_in(staff_a).get(URL)) == ["A 培训学校", "甲镇机构"]  # institution_staff's, in town A
    for user in (inspector_a, parent, institution_staff):
        client = signed_in(user)
        for path in (URL, URL + "export.xlsx", URL + "import/"):
            assert client.get(path).status_code == 404, (user, path)
    assert Client().get(URL).status_code == 302  # to sign in


def test_a_licence_that_expired_yesterday_reads_expired_in_the_filters(bureau_staff):
    yesterday = timezone.localdate() - timedelta(days=1)
    make_institution("昨日到期", licence_expires_on=yesterday, licence_issued_on=date(2020, 1, 1))
    client = signed_in(bureau_staff)
    assert names(client.get(URL, {"status": "licensed"})) == []
    response = client.get(URL, {"status": "expired"})
    assert names(response) == ["昨日到期"]
    assert "许可证过期" in response.content.decode()


def queries(client, params) -> int:
    client.get(URL, params)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL, params).status_code == 200
    return len(ctx.captured_queries)


def test_a_page_costs_the_same_queries_for_2_or_20_rows(bureau_staff, parent):
    client = signed_in(bureau_staff)
    params = {"sort": "complaints"}
    for n in range(2):
        ComplaintFactory(institution=make_institution(f"少{n}"), parent=parent)
    small = queries(client, params)
    for n in range(18):
        inst = make_institution(f"多{n}")
        ComplaintFactory(institution=inst, parent=parent)
        order(inst, bureau_staff, timezone.localdate())
    assert queries(client, params) == small


def test_the_map_draws_the_filtered_set_without_another_origin(bureau_staff, settings):
    settings.MAP_TILE_URL = ""
    make_institution("有坐标", latitude="29.703100", longitude="107.389600")
    make_institution("无坐标")
    make_institution("乙镇", town=TOWN_B, latitude="29.75", longitude="107.30")
    response = signed_in(bureau_staff).get(URL, {"view": "map", "town": region(TOWN_A).pk})
    body = response.content.decode()
    assert response.status_code == 200
    points = response.context["points"]
    assert [p["name"] for p in points] == ["有坐标"] and points[0]["lat"] == pytest.approx(29.7031)
    assert response.context["missing"] == 1
    assert "vendor/leaflet/leaflet.js" in body and 'id="registry-points"' in body
    assert "http://" not in body.split('id="registry-map-config"')[1].split("</script>")[0]


def test_the_export_holds_the_filtered_list_as_xlsx(bureau_staff):
    make_institution("学科甲", category="subject")
    make_institution("艺术乙")
    response = signed_in(bureau_staff).get(URL + "export.xlsx", {"category": "subject"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "名称" and [r[0] for r in rows[1:]] == ["学科甲"]


# --- Import ----------------------------------------------------------------------------------------------------------

HEADER = ["名称", "统一社会信用代码", "办学许可证号", "发证日期", "有效期至", "所在镇街", "纬度", "经度", "状态"]


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def post_file(client, content: bytes, name="名录.xlsx"):
    return client.post(URL + "import/", {"file": SimpleUploadedFile(name, content)})


@pytest.fixture
def no_posters(monkeypatch):
    from institutions.bulk import refresh_institutions
    from institutions.tasks import build_poster

    monkeypatch.setattr(build_poster, "delay", lambda *a: None)
    monkeypatch.setattr(refresh_institutions, "delay", lambda *a: None)


def test_an_import_with_broken_rows_lists_each_row_once_with_line_and_column(bureau_staff, no_posters):
    rows = [
        ["好机构", "", "", None, None, "敦仁街道", None, None, "申请中"],
        # A register row that only the write would refuse (licensed without a licence): listed by the check, once.
        ["缺证机构", "", "", None, None, "敦仁街道", None, None, "已许可"],
        ["坐标错", "", "", None, None, "敦仁街道", 51.5, -0.12, ""],
        ["", "", "", None, None, "不存在镇", None, None, ""],
    ]
    response = post_file(signed_in(bureau_staff), workbook(rows))
    assert response.status_code == 422
    errors = response.context["errors"]
    cells = [(e["line"], e["column"]) for e in errors]
    assert len(cells) == len(set(cells))  # each cell once
    assert {line for line, _c in cells} == {3, 4, 5}
    assert all(column for _line, column in cells)  # every error names its column
    assert (3, "办学许可证号") in cells and (4, "纬度") in cells and (5, "名称") in cells and (5, "所在镇街") in cells
    body = response.content.decode()
    assert body.count("已许可的机构须有办学许可证号") == 1
    assert Institution.objects.count() == 0


def test_a_good_small_import_is_written_at_once(bureau_staff, no_posters):
    good = ["好机构", "", "", None, None, "敦仁街道", None, None, ""]
    response = post_file(signed_in(bureau_staff), workbook([good]))
    assert response.status_code == 200 and "新增 1 家" in response.content.decode()
    assert Institution.objects.filter(name="好机构").exists()


def test_a_large_import_shows_a_progress_page_then_its_bad_rows(
    bureau_staff, settings, no_posters, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 1
    rows = [
        ["机构一", "", "", None, None, "敦仁街道", None, None, ""],
        ["", "", "", None, None, "敦仁街道", None, None, ""],
    ]
    client = signed_in(bureau_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, workbook(rows))
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="import-progress"' in body and "100%" in body
    assert [(e["line"], e["column"]) for e in page.context["job"]["errors"]] == [(3, "名称")]
    other = make_user("另一科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    assert signed_in(other).get(response["Location"]).status_code == 404


def test_an_import_without_a_file_is_a_clear_message(bureau_staff):
    response = signed_in(bureau_staff).post(URL + "import/", {})
    assert response.status_code == 422 and "请选择要导入的文件" in response.content.decode()


@pytest.fixture
def kept_list(settings):
    settings.REGISTRY_LIST_CACHE_SECONDS = 10


def test_a_kept_list_costs_no_registry_query_yet_shows_a_change_at_once(
    kept_list, bureau_staff, parent, django_capture_on_commit_callbacks
):
    inst = make_institution("保留机构")
    client = signed_in(bureau_staff)
    assert "保留机构" in client.get(URL).content.decode()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    assert not any("institutions_institution" in q["sql"] for q in ctx.captured_queries)
    with django_capture_on_commit_callbacks(execute=True):
        institution_change_status(actor=bureau_staff, institution_id=inst.pk, to_status="suspended", reason="停业整顿")
    assert 'data-testid="row-status">停业整顿<' in client.get(URL).content.decode()
    ComplaintFactory(institution=inst, parent=parent)
    with django_capture_on_commit_callbacks(execute=True):
        complaints_changed()  # what every complaint service calls
    assert "1 件投诉" in client.get(URL).content.decode()


def test_a_kept_list_is_never_shown_to_another_scope(kept_list, staff_a, bureau_staff):
    make_institution("乙镇机构", town=TOWN_B)
    assert "乙镇机构" in signed_in(bureau_staff).get(URL).content.decode()  # the district's list, now kept
    assert "乙镇机构" not in signed_in(staff_a).get(URL).content.decode()  # town A's own
