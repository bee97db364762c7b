"""Institution staff answer in the browser (issue 17): a statement request (text, photos or PDF documents as evidence)
and a rectification order (text and photos, through the same checks as the API); the evidence is viewable by whoever
may see the request or the order, and 404 for anyone else. The parent's identity never reaches the institution."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from supervision.complaints import services
from supervision.models import InspectionPhoto, RectificationEvidence, RectificationOrder, StatementEvidence
from tests.conftest import TOWN_A, make_user, region
from tests.factories import FindingFactory, InspectionFactory
from tests.institutions.helpers import make_institution

from .conftest import image_bytes

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_of(registered):
    return make_user("赵经理", Role.INSTITUTION_STAFF, institution=registered)


@pytest.fixture
def other_staff(db):
    return make_user("钱经理", Role.INSTITUTION_STAFF, institution=make_institution("另一家培训学校"))


def statement_request(parent, staff_a, institution, *, disclose=False):
    filing = services.Filing(
        category="refund",
        description="报名后机构拒绝退还剩余费用，多次沟通无果。",
        occurred_at=timezone.now() - timedelta(days=1),
        institution_id=institution.pk,
        disclose_identity=disclose,
    )
    c, _ = services.complaint_file(actor=parent, filing=filing)
    services.complaint_act(actor=staff_a, complaint_id=c.pk, action="accept", data={})
    question = "请说明退费规则及本次处理情况。"
    return services.statement_request_create(actor=staff_a, complaint_id=c.pk, question=question)


def test_staff_reach_the_request_from_home_and_answer_it_with_a_photo_and_a_pdf(parent, staff_a, staff_of, registered):
    r = statement_request(parent, staff_a, registered, disclose=True)
    client = signed_in(staff_of)
    home = client.get("/").content.decode()
    assert 'data-menu="statements"' in home and 'data-menu="orders"' in home
    listing = client.get("/complaints/statements/").content.decode()
    assert f"/complaints/statements/{r.pk}/" in listing
    page = client.get(f"/complaints/statements/{r.pk}/").content.decode()
    assert "请说明退费规则" in page and 'data-testid="statement-form"' in page
    # Even where the parent allowed it in the API, the page shows no one's identity.
    assert parent.name not in page and parent.phone not in page
    files = [
        SimpleUploadedFile("规则.jpg", image_bytes(), "image/jpeg"),
        SimpleUploadedFile("退费规则.pdf", PDF, "application/pdf"),
    ]
    answer = {"statement": "按合同退还剩余课时费。", "evidence": files}
    response = client.post(f"/complaints/statements/{r.pk}/", answer)
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.state == "answered" and r.statement == "按合同退还剩余课时费。"
    photo, document = r.evidence.order_by("id")
    assert (photo.kind, document.kind, document.name) == ("photo", "document", "退费规则.pdf")
    html = client.get(response["Location"]).content.decode()
    assert "情况说明已提交" in html and f"/complaints/statements/{r.pk}/evidence/{photo.pk}?size=thumb" in html
    assert "退费规则.pdf" in html and 'data-testid="statement-form"' not in html


def test_bad_statements_and_files_are_refused_and_nothing_is_kept(parent, staff_a, staff_of, registered):
    r = statement_request(parent, staff_a, registered)
    client = signed_in(staff_of)
    short = client.post(f"/complaints/statements/{r.pk}/", {"statement": "好"})
    assert short.status_code == 422 and "情况说明须为 5–4000 字" in short.content.decode()
    fake = SimpleUploadedFile("a.jpg", b"this is not an image" * 10, "image/jpeg")
    answer = {"statement": "按合同退还剩余课时费。", "evidence": [fake]}
    response = client.post(f"/complaints/statements/{r.pk}/", answer)
    assert response.status_code == 415 and "第 1 个文件（a.jpg）" in response.content.decode()
    r.refresh_from_db()
    assert r.state == "open" and not StatementEvidence.objects.exists()
    assert "按合同退还剩余课时费。" in response.content.decode()  # what was typed is kept


def test_statement_evidence_is_seen_by_the_institution_and_the_handler_only(
    parent, other_parent, staff_a, staff_b, staff_of, other_staff, registered
):
    r = statement_request(parent, staff_a, registered)
    services.statement_answer(
        actor=staff_of,
        request_id=r.pk,
        statement="按合同退还剩余课时费。",
        evidence=[SimpleUploadedFile("x.png", image_bytes("PNG"), "image/png"), SimpleUploadedFile("d.pdf", PDF)],
    )
    photo, document = r.evidence.order_by("id")
    photo_url = f"/complaints/statements/{r.pk}/evidence/{photo.pk}"
    doc_url = f"/complaints/statements/{r.pk}/evidence/{document.pk}"
    for user in (staff_of, staff_a):
        assert signed_in(user).get(photo_url).status_code == 200
        assert signed_in(user).get(photo_url + "?size=thumb")["Content-Type"] == "image/jpeg"
        pdf = signed_in(user).get(doc_url)
        assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    for user in (parent, other_parent, staff_b, other_staff):
        assert signed_in(user).get(photo_url).status_code == 404
        assert signed_in(user).get(doc_url).status_code == 404
    assert Client().get(photo_url).status_code == 404
    assert signed_in(staff_of).get(f"/complaints/statements/{r.pk + 1}/evidence/{photo.pk}").status_code == 404
    # Other institutions' staff do not see the request either.
    assert signed_in(other_staff).get(f"/complaints/statements/{r.pk}/").status_code == 404
    assert signed_in(parent).get(f"/complaints/statements/{r.pk}/").status_code == 404


def test_an_answered_request_cannot_be_answered_again(parent, staff_a, staff_of, registered):
    r = statement_request(parent, staff_a, registered)
    client = signed_in(staff_of)
    assert client.post(f"/complaints/statements/{r.pk}/", {"statement": "第一次说明内容。"}).status_code == 302
    again = client.post(f"/complaints/statements/{r.pk}/", {"statement": "第二次说明内容。"})
    assert again.status_code == 409 and "该说明已答复" in again.content.decode()
    r.refresh_from_db()
    assert r.statement == "第一次说明内容。"


# --- Rectification orders ------------------------------------------------------------------------------------------


@pytest.fixture
def visit(registered, inspector_a):
    return InspectionFactory(institution=registered, inspectors=[inspector_a])


@pytest.fixture
def order(visit, inspector_a):
    finding = FindingFactory(inspection=visit, rule_id="R-FEE-1", description="未公示收费标准")
    return RectificationOrder.objects.create(
        finding=finding,
        institution=visit.institution,
        town=visit.town,
        due_on=timezone.localdate() + timedelta(days=10),
        evidence_required="在前台公示收费项目与标准，拍照上传。",
        issued_by=inspector_a,
    )


def test_staff_answer_an_order_with_text_and_photos_and_see_their_evidence(order, staff_of):
    client = signed_in(staff_of)
    listing = client.get("/inspections/orders/?filter=open").content.decode()
    assert f"/inspections/orders/{order.pk}/" in listing
    page = client.get(f"/inspections/orders/{order.pk}/").content.decode()
    assert "未公示收费标准" in page and "拍照上传" in page and 'data-testid="order-form"' in page
    photos = [SimpleUploadedFile(f"{n}.jpg", image_bytes(color=(n, 0, 0)), "image/jpeg") for n in (10, 20)]
    response = client.post(f"/inspections/orders/{order.pk}/", {"response": "已在前台公示。", "photos": photos})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "answered" and order.response == "已在前台公示。"
    assert len(order.response_photo_uuids) == 2 and order.evidence.count() == 2
    html = client.get(response["Location"]).content.decode()
    evidence = order.evidence.first()
    assert f"/inspections/orders/{order.pk}/evidence/{evidence.uuid}" in html and "等待检查人员核验" in html
    assert 'data-testid="order-form"' not in html


def test_bad_order_answers_are_refused_clearly(order, staff_of, inspector_a):
    client = signed_in(staff_of)
    empty = client.post(f"/inspections/orders/{order.pk}/", {"response": "  "})
    assert empty.status_code == 422 and "请填写整改情况" in empty.content.decode()
    fake = SimpleUploadedFile("a.jpg", b"not a picture" * 10, "image/jpeg")
    bad = client.post(f"/inspections/orders/{order.pk}/", {"response": "已整改。", "photos": [fake]})
    assert bad.status_code == 415 and "第 1 张照片" in bad.content.decode()
    order.refresh_from_db()
    assert order.status == "open" and not order.evidence.exists()
    # An inspector reads the order but cannot answer for the institution.
    page = signed_in(inspector_a).get(f"/inspections/orders/{order.pk}/").content.decode()
    assert 'data-testid="order-form"' not in page
    refused = signed_in(inspector_a).post(f"/inspections/orders/{order.pk}/", {"response": "代为提交"})
    assert refused.status_code == 403
    order.refresh_from_db()
    assert order.status == "open"


def test_the_same_photo_twice_is_one_piece_of_evidence(order, staff_of):
    same = image_bytes(color=(1, 2, 3))
    photos = [SimpleUploadedFile("a.jpg", same, "image/jpeg"), SimpleUploadedFile("b.jpg", same, "image/jpeg")]
    response = signed_in(staff_of).post(f"/inspections/orders/{order.pk}/", {"response": "已整改。", "photos": photos})
    assert response.status_code == 302 and order.evidence.count() == 1


def _evidence(order, staff) -> RectificationEvidence:
    name = default_storage.save("inspections/evidence/t.jpg", ContentFile(image_bytes()))
    return RectificationEvidence.objects.create(
        order=order, uuid=uuid.uuid4(), sha256="0" * 64, image=name, content_type="image/jpeg", size=10,
        uploaded_by=staff,
    )  # fmt: skip


def test_order_evidence_is_seen_by_the_institution_the_team_and_the_bureau_only(
    order, staff_of, other_staff, inspector_a, inspector_b, staff_a, staff_b, parent
):
    evidence = _evidence(order, staff_of)
    url = f"/inspections/orders/{order.pk}/evidence/{evidence.uuid}"
    for user in (staff_of, inspector_a, staff_a):
        response = signed_in(user).get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert signed_in(user).get(f"/inspections/orders/{order.pk}/").status_code == 200
    for user in (other_staff, inspector_b, staff_b, parent):
        assert signed_in(user).get(url).status_code == 404
        assert signed_in(user).get(f"/inspections/orders/{order.pk}/").status_code == 404
    assert Client().get(url).status_code == 404
    assert signed_in(staff_of).get(f"/inspections/orders/{order.pk}/evidence/{uuid.uuid4()}").status_code == 404


# --- Visit photos --------------------------------------------------------------------------------------------------


def _visit_photo(visit, inspector) -> InspectionPhoto:
    content = image_bytes()
    name = default_storage.save("inspections/photos/t.jpg", ContentFile(content))
    return InspectionPhoto.objects.create(
        uuid=uuid.uuid4(), inspection=visit, sha256=hashlib.sha256(content).hexdigest(), received=True, image=name,
        content_type="image/jpeg", size=len(content), uploaded_by=inspector, received_at=timezone.now(),
    )  # fmt: skip


def test_visit_photos_are_seen_by_the_team_and_the_bureau_only(
    visit, inspector_a, inspector_b, staff_a, staff_b, staff_of, parent
):
    photo = _visit_photo(visit, inspector_a)
    waiting = InspectionPhoto.objects.create(uuid=uuid.uuid4(), inspection=visit, received=False)
    url = f"/inspections/{visit.pk}/photos/{photo.uuid}"
    for user in (inspector_a, staff_a):
        assert signed_in(user).get(url).status_code == 200
        page = signed_in(user).get(f"/inspections/{visit.pk}/").content.decode()
        assert url in page and str(waiting.uuid) not in page
    for user in (inspector_b, staff_b, staff_of, parent):
        assert signed_in(user).get(url).status_code == 404
        assert signed_in(user).get(f"/inspections/{visit.pk}/").status_code == 404
    assert signed_in(inspector_a).get(f"/inspections/{visit.pk}/photos/{waiting.uuid}").status_code == 404
    assert Client().get(url).status_code == 404


def test_the_visit_list_links_each_visit_page(visit, inspector_a):
    html = signed_in(inspector_a).get("/inspections/visits/?filter=week").content.decode()
    assert f"/inspections/{visit.pk}/" in html or "list-empty" in html
    assert region(TOWN_A).name in signed_in(inspector_a).get(f"/inspections/{visit.pk}/").content.decode()
