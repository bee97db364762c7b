"""Public QR verification: what a scan shows (JSON and page), scan counts, token rotation, who may fetch the images.

Answers, on purpose and the same for JSON and page:
- a live token: the institution's public record, 200;
- a rotated token (the code was real once): 200, valid=false, the red "此二维码无效，可能是伪造的" state, no data;
- a token never issued: 404 (JSON: the common error shape, code verification.invalid; page: the same red warning).
QR code and poster images: bureau roles of the town and the institution's own staff; anyone else 404. Rotation:
bureau staff of the town; those who may see the record but not edit it (its inspectors, its own staff) 403; anyone
else 404.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
import zxingcpp
from django.db import connection
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.models import Role
from core.errors import NotFound, PermissionDenied
from core.models import AuditEvent
from institutions import services as institution_services
from institutions import verification
from institutions.models import (
    Institution,
    Poster,
    ScanCount,
    StaffMember,
    Status,
    VerificationToken,
)
from tests.concurrency import race
from tests.conftest import TOWN_B, assert_error, make_user, region
from tests.factories import (
    CourseFactory,
    EscrowAccountFactory,
    FeePackageFactory,
    StaffMemberFactory,
    VerificationTokenFactory,
)
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db

BASE_URL = "https://jianguan.example.cn"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ID_LAST4 = "739X"
CERTIFICATE = "20195001234567890"


@pytest.fixture(autouse=True)
def _public_site(settings, tmp_path):
    settings.PUBLIC_BASE_URL = BASE_URL
    settings.MEDIA_ROOT = tmp_path / "media"


def token_of(institution) -> str:
    return verification.live_token(institution).token


@pytest.fixture
def full_record(institution_a):
    """institution_a with its token, courses, fees, staff and escrow."""
    Institution.objects.filter(pk=institution_a.pk).update(
        status=Status.LICENSED,
        licence_number="教民150010270000042号",
        licence_expires_on=date(2099, 6, 30),
        category="arts",
        address="涪陵区兴华中路 8 号",
    )
    institution_a.refresh_from_db()
    art = CourseFactory(institution=institution_a, name="少儿美术", grade_range="一至三年级")
    FeePackageFactory(course=art, name="季度班", hours=40, months=3, price=Decimal("3000"))
    FeePackageFactory(course=art, name="体验课", hours=2, months=1, price=Decimal("99.5"))
    stopped = CourseFactory(institution=institution_a, name="已停售课程", class_minutes=45, is_active=False)
    FeePackageFactory(course=stopped, name="旧套餐", hours=10, months=1, price=Decimal("800"))
    StaffMemberFactory(institution=institution_a, name="王老师", id_number_last4=ID_LAST4,
                       teacher_certificate_no=CERTIFICATE)
    StaffMemberFactory(institution=institution_a, name="离职老师", id_number_last4="1111",
                       teacher_certificate_no="20180000000000001", is_active=False)
    StaffMemberFactory(institution=institution_a, name="赵经理", id_number_last4="2222",
                       role=StaffMember.StaffRole.MANAGER)
    EscrowAccountFactory(institution=institution_a, bank="重庆农村商业银行", account_number="6222021234567890123")
    VerificationTokenFactory(institution=institution_a)
    return institution_a


# --- What a scan shows -----------------------------------------------------------------------------------------------


def test_a_live_code_shows_the_public_record_to_anyone(full_record, anon):
    response = anon.get(f"verify/{token_of(full_record)}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["valid"], body["code_state"]) == (True, "live")
    i = body["institution"]
    assert i["name"] == "A 培训学校"
    assert i["status"]["code"] == "valid"
    assert (i["status"]["label_zh"], i["status"]["label_en"], i["status"]["tone"]) == ("有效", "Valid", "green")
    assert (i["category"], i["category_label_zh"], i["category_label_en"]) == ("arts", "文化艺术类", "culture and arts")
    assert i["address"] == "涪陵区兴华中路 8 号"
    assert i["town"] == "敦仁街道"
    assert (i["licence_number"], i["licence_expires_on"]) == ("教民150010270000042号", "2099-06-30")
    assert i["fees_under_escrow"] is True
    assert [c["name"] for c in i["courses"]] == ["少儿美术"]  # the course no longer sold is not shown
    assert i["courses"][0]["packages"] == [
        {"name": "体验课", "price": "99.50", "hours": 2, "months": 1, "breaks_rules": False, "rule_findings": []},
        {"name": "季度班", "price": "3000.00", "hours": 40, "months": 3, "breaks_rules": False, "rule_findings": []},
    ]
    assert i["teachers"] == [{"name": "王老师", "certificate_no_masked": "2019**********890"}]
    assert body["report_url"] == f"/complaints/new?institution={full_record.pk}"
    assert body["checked_at"].endswith("+08:00")


def test_the_public_record_has_no_id_numbers_and_masks_certificates(full_record, anon, client):
    token = token_of(full_record)
    for response in (anon.get(f"verify/{token}"), client.get(f"/v/{token}")):
        text = response.content.decode()
        assert CERTIFICATE not in text
        assert "2019**********890" in text
        assert ID_LAST4 not in text and "id_number" not in text and "hash-of-wang" not in text
        assert "6222021234567890123" not in text and "重庆农村商业银行" not in text  # escrow: only whether there is one
        assert "赵经理" not in text and "离职老师" not in text


def test_no_escrow_account_says_so(anon):
    institution = make_institution()
    assert anon.get(f"verify/{token_of(institution)}").json()["institution"]["fees_under_escrow"] is False


@pytest.mark.parametrize(
    ("status", "code", "label_zh", "tone"),
    [
        (Status.LICENSED, "valid", "有效", "green"),
        (Status.RECTIFYING, "rectifying", "整改中", "orange"),
        (Status.SUSPENDED, "suspended", "停业整顿", "red"),
        (Status.REVOKED, "revoked", "许可证已吊销", "red"),
        (Status.EXPIRED, "expired", "许可证已过期", "red"),
        (Status.UNLICENSED, "unlicensed", "无证机构", "red"),
        (Status.APPLIED, "applied", "申请中，尚未许可", "red"),
        (Status.CLOSED, "closed", "已注销", "grey"),
    ],
)
def test_every_status_has_an_unmistakable_label_and_colour(anon, client, status, code, label_zh, tone):
    institution = make_institution(status=status)
    token = token_of(institution)

    shown = anon.get(f"verify/{token}").json()["institution"]["status"]
    assert (shown["code"], shown["label_zh"], shown["tone"]) == (code, label_zh, tone)
    assert shown["label_en"] and shown["advice_zh"] and shown["advice_en"]

    page = client.get(f"/v/{token}").content.decode()
    assert f'class="badge tone-{tone}"' in page and f'data-status="{code}"' in page and label_zh in page


def test_a_revoked_institution_shows_revoked_not_data_of_a_valid_one(anon, client):
    institution = make_institution(status=Status.REVOKED)
    body = anon.get(f"verify/{token_of(institution)}").json()
    assert body["valid"] is True  # the code is genuine: it tells the truth about a revoked institution
    assert body["institution"]["status"]["code"] == "revoked"
    page = client.get(f"/v/{token_of(institution)}").content.decode()
    assert "许可证已吊销" in page and "有效</" not in page  # one language at a time: Chinese by default
    page = client.get(f"/v/{token_of(institution)}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Licence revoked" in page and "Valid</" not in page


def test_a_licence_past_its_expiry_date_never_shows_as_valid(anon):
    institution = make_institution(licence_expires_on=date(2020, 1, 31))
    assert anon.get(f"verify/{token_of(institution)}").json()["institution"]["status"]["code"] == "expired"


def test_an_unknown_code_is_not_valid_404_in_json_and_on_the_page(anon, client):
    error = assert_error(anon.get("verify/not-a-real-token-at-all"), 404, "verification.invalid")
    assert error["message"] == "此二维码无效，可能是伪造的"
    english = assert_error(anon.get("verify/nope", HTTP_ACCEPT_LANGUAGE="en"), 404, "verification.invalid")
    assert english["message"] == "This code is not valid; it may be forged"
    assert_error(anon.get("verify/" + "x" * 200), 404, "verification.invalid")
    assert_error(anon.get("verify/%00"), 400, "request.nul_character")  # refused before any query (PostgreSQL)
    assert_error(anon.get("verify/a%2Fb"), 404)

    assert client.get("/v/%00").status_code == 404
    page = client.get("/v/not-a-real-token-at-all")
    assert page.status_code == 404
    text = page.content.decode()
    assert "此二维码无效，可能是伪造的" in text and 'data-testid="report-link"' in text
    assert ScanCount.objects.count() == 0


def test_the_page_shows_what_the_json_shows(full_record, client):
    response = client.get(f"/v/{token_of(full_record)}")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    text = response.content.decode()
    for expected in ("A 培训学校", "有效", "文化艺术类", "教民150010270000042号", "2099-06-30", "涪陵区兴华中路 8 号",
                     "敦仁街道", "少儿美术", "¥3000.00", "¥99.50", "王老师", "2019**********890",
                     "预收费进入监管账户", 'name="viewport"',
                     f'href="/accounts/signup/?next=/complaints/new%3Finstitution%3D{full_record.pk}"'):
        assert expected in text, expected
    assert "已停售课程" not in text


def test_the_printed_address_is_the_page_route(full_record, settings):
    token = token_of(full_record)
    assert verification.public_address(token) == f"{BASE_URL}/v/{token}"
    assert reverse("institution-verify", args=[token]) == f"/v/{token}"
    settings.PUBLIC_BASE_URL = "https://a.example.cn/"  # a trailing slash does not double
    assert verification.public_address(token) == f"https://a.example.cn/v/{token}"
    del settings.PUBLIC_BASE_URL
    assert verification.public_address(token) == f"http://127.0.0.1:8000/v/{token}"


def test_the_public_record_costs_a_fixed_number_of_queries(full_record, django_assert_max_num_queries):
    token = token_of(full_record)
    for n in range(8):
        FeePackageFactory(course__institution=full_record, course__name=f"课程{n}", hours=10, months=1)
        StaffMemberFactory(institution=full_record, name=f"老师{n}", teacher_certificate_no=f"2020{n:013d}")
    with django_assert_max_num_queries(6):
        payload = verification.verification_payload(token)
    assert len(payload["institution"]["courses"]) == 9 and len(payload["institution"]["teachers"]) == 9


# --- Scans ---------------------------------------------------------------------------------------------------------


def test_scans_are_counted_per_token_per_local_day_and_nothing_else(full_record, anon, client):
    token = token_of(full_record)
    row = VerificationToken.objects.get(token=token)
    # 23:50 in Chongqing is still the same day there, whatever the UTC date says.
    with time_machine.travel(datetime(2026, 3, 9, 23, 50, tzinfo=SHANGHAI), tick=False):
        anon.get(f"verify/{token}")
        anon.get(f"verify/{token}")
        client.get(f"/v/{token}")
        client.head(f"/v/{token}")  # link previews: not a scan
    with time_machine.travel(datetime(2026, 3, 10, 0, 10, tzinfo=SHANGHAI), tick=False):
        client.get(f"/v/{token}")

    counts = {s.day: s.count for s in ScanCount.objects.filter(token=row)}
    assert counts == {date(2026, 3, 9): 3, date(2026, 3, 10): 1}
    assert verification.scans_of(full_record) == {row.pk: counts}
    assert [f.name for f in ScanCount._meta.concrete_fields] == ["id", "token", "day", "count"]  # nothing personal


def test_scans_of_a_rotated_code_are_counted_on_the_old_token(full_record, client, town_a_staff):
    old = verification.live_token(full_record)
    institution_services.token_rotate(actor=town_a_staff, institution_id=full_record.pk, reason="海报被仿冒")
    client.get(f"/v/{old.token}")
    assert ScanCount.objects.get(token=old).count == 1  # the bureau sees an old poster still being scanned


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane")
def test_first_scans_racing_lose_no_count():
    institution = make_institution()
    row = verification.live_token(institution)
    n = 6
    results = race(lambda: verification.record_scan(row), n=n)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert list(ScanCount.objects.filter(token=row).values_list("count", flat=True)) == [n]


# --- Tokens and rotation --------------------------------------------------------------------------------------------


def test_live_token_is_made_once_when_missing(institution_a):
    assert not institution_a.tokens.exists()
    first = verification.live_token(institution_a)
    assert verification.live_token(institution_a) == first
    assert institution_a.tokens.count() == 1 and len(first.token) >= 20


def test_rotation_makes_the_old_code_say_forged_and_the_new_one_work(
    full_record, town_a_staff, institution_staff, api_as, anon, client, django_capture_on_commit_callbacks
):
    old = token_of(full_record)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(town_a_staff).post(
            f"institutions/{full_record.pk}/verification-token/rotate", {"reason": "发现仿冒海报"}
        )
    assert response.status_code == 200, response.content
    new = token_of(full_record)
    assert new != old
    assert response.json()["verify_url"] == f"{BASE_URL}/v/{new}"

    rotated = anon.get(f"verify/{old}")
    assert rotated.status_code == 200
    assert rotated.json() | {"checked_at": None} == {
        "valid": False,
        "code_state": "rotated",
        "message_zh": "此二维码无效，可能是伪造的",
        "message_en": "This code is not valid; it may be forged",
        "advice_zh": verification.INVALID_ADVICE_ZH,
        "advice_en": verification.INVALID_ADVICE_EN,
        "checked_at": None,
        "institution": None,
        "report_url": "/complaints/new",
    }
    page = client.get(f"/v/{old}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "此二维码无效，可能是伪造的" in text and "A 培训学校" not in text and "王老师" not in text

    assert anon.get(f"verify/{new}").json()["institution"]["name"] == "A 培训学校"
    assert "A 培训学校" in client.get(f"/v/{new}").content.decode()

    # The poster was rebuilt after commit with the new code.
    poster = Poster.objects.get(institution=full_record)
    assert poster.token == new
    with poster.image.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{BASE_URL}/v/{new}"]

    event = AuditEvent.objects.get(verb="institution.token_rotate")
    assert (event.actor, event.object_type, event.object_id) == (town_a_staff, "institutions.institution",
                                                                 str(full_record.pk))
    assert event.data["reason"] == "发现仿冒海报"
    assert old not in str(event.data) and new not in str(event.data)  # ids, not the codes themselves
    assert full_record.tokens.filter(revoked_at__isnull=True).count() == 1
    assert full_record.tokens.filter(token=old, revoked_at__isnull=False).exists()
    assert institution_staff.notifications.filter(kind="institution.token_rotated").exists()


def test_rotation_needs_a_reason(full_record, town_a_staff, api_as):
    client = api_as(town_a_staff)
    url = f"institutions/{full_record.pk}/verification-token/rotate"
    assert_error(client.post(url, {"reason": "   "}), 422, "institution.reason_required")
    assert_error(client.post(url, {}), 422, "request.invalid")
    assert not AuditEvent.objects.filter(verb="institution.token_rotate").exists()


def test_district_bureau_staff_may_rotate(full_record, bureau_staff, api_as):
    response = api_as(bureau_staff).post(f"institutions/{full_record.pk}/verification-token/rotate", {"reason": "x"})
    assert response.status_code == 200, response.content


def test_the_rotate_service_checks_the_editor_and_the_institution(full_record, inspector_a, town_a_staff):
    with pytest.raises(PermissionDenied):
        institution_services.token_rotate(actor=inspector_a, institution_id=full_record.pk, reason="x")
    with pytest.raises(NotFound):
        institution_services.token_rotate(actor=town_a_staff, institution_id=999_999, reason="x")
    assert full_record.tokens.count() == 1  # nothing rotated by the refusals


# --- Who may fetch the images and rotate ---------------------------------------------------------------------------


@pytest.fixture
def other_institution_staff(db):
    other = make_institution("别家机构", town=TOWN_B)
    return make_user("别家员工", Role.INSTITUTION_STAFF, institution=other)


@pytest.fixture
def town_b_staff(db):
    return make_user("李渡科员", Role.BUREAU_STAFF, region=region(TOWN_B))


OUTSIDERS = ["parent", "inspector_b", "other_institution_staff", "school_admin_x", "town_b_staff"]


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_outsiders_get_404_for_images_and_rotation(persona, request, full_record, api_as):
    client = api_as(request.getfixturevalue(persona))
    base = f"institutions/{full_record.pk}"
    assert_error(client.get(f"{base}/qrcode.png"), 404, "not_found")
    assert_error(client.get(f"{base}/poster.png"), 404, "not_found")
    assert_error(client.post(f"{base}/verification-token/rotate", {"reason": "x"}), 404, "not_found")
    assert not Poster.objects.exists()
    assert full_record.tokens.count() == 1


def test_anonymous_callers_get_401_for_images_and_rotation(full_record, anon):
    base = f"institutions/{full_record.pk}"
    assert_error(anon.get(f"{base}/qrcode.png"), 401)
    assert_error(anon.get(f"{base}/poster.png"), 401)
    assert_error(anon.post(f"{base}/verification-token/rotate", {"reason": "x"}), 401)


@pytest.mark.parametrize("persona", ["inspector_a", "institution_staff"])
def test_who_may_see_the_record_but_not_edit_it_gets_403_on_rotation(persona, request, full_record, api_as):
    client = api_as(request.getfixturevalue(persona))
    response = client.post(f"institutions/{full_record.pk}/verification-token/rotate", {"reason": "x"})
    assert_error(response, 403, "permission_denied")
    assert full_record.tokens.count() == 1


@pytest.mark.parametrize("persona", ["town_a_staff", "bureau_admin", "inspector_a", "institution_staff"])
def test_the_qr_code_decodes_to_the_public_address(persona, request, full_record, api_as):
    response = api_as(request.getfixturevalue(persona)).get(f"institutions/{full_record.pk}/qrcode.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{BASE_URL}/v/{token_of(full_record)}"]


def test_the_poster_is_built_on_demand_and_decodes_to_the_public_address(full_record, institution_staff, api_as,
                                                                        settings):
    assert not Poster.objects.exists()
    response = api_as(institution_staff).get(f"institutions/{full_record.pk}/poster.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == ("PNG", (1240, 1754))
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{BASE_URL}/v/{token_of(full_record)}"]
    poster = Poster.objects.get(institution=full_record)
    assert poster.image.name.startswith("posters/")
    assert (settings.MEDIA_ROOT / poster.image.name).is_file()
    # A second fetch serves the stored poster, not a new one.
    again = api_as(institution_staff).get(f"institutions/{full_record.pk}/poster.png")
    assert again.content == response.content
    assert Poster.objects.get(institution=full_record).image.name == poster.image.name


def test_the_verify_operation_is_public_and_documented(db):
    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/verify/{token}"]["get"]
    assert not operation.get("security")
    png = schema["paths"]["/api/v1/institutions/{institution_id}/qrcode.png"]["get"]
    assert "image/png" in png["responses"]["200"]["content"]
    assert png.get("security")


def test_report_a_problem_is_offered_to_visitors_and_parents_not_to_staff(full_record, client, parent, town_a_staff):
    """Complaints are filed by parents: a member of staff scanning a poster is not led to a form that refuses them."""
    page = f"/v/{token_of(full_record)}"
    assert 'data-testid="report-link"' in client.get(page).content.decode()
    client.force_login(parent)
    assert 'data-testid="report-link"' in client.get(page).content.decode()
    client.force_login(town_a_staff)
    assert 'data-testid="report-link"' not in client.get(page).content.decode()
