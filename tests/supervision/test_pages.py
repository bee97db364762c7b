"""The phone page behind the verification page's "report a problem" link."""

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from institutions.verification import report_url
from supervision.models import Complaint

from .conftest import image_bytes

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**extra):
    return {
        "category": "refund",
        "description": "报名后机构拒绝退还剩余费用，多次沟通无果。",
        "occurred_at": "2026-11-20T10:00",
        "key": "web-key-0001",
        **extra,
    }


def test_signed_out_the_page_says_how_to_sign_in(client, registered):
    response = client.get(report_url(registered))
    assert response.status_code == 200
    assert "/login/?next=" in response.content.decode() and "登录" in response.content.decode()


def test_a_parent_files_from_the_page_and_sees_the_tracking_number(parent, registered):
    client = signed_in(parent)
    page = client.get(report_url(registered))
    assert registered.name in page.content.decode()
    photo = SimpleUploadedFile("a.jpg", image_bytes(), "image/jpeg")
    response = client.post("/complaints/new", {**form(institution=registered.pk), "photos": [photo]}, follow=True)
    c = Complaint.objects.get()
    assert c.institution == registered and c.photos.count() == 1 and c.disclose_identity is False
    assert c.tracking_number in response.content.decode()
    # A double tap sends the same form again: the same complaint.
    photo = SimpleUploadedFile("a.jpg", image_bytes(), "image/jpeg")
    again = client.post("/complaints/new", {**form(institution=registered.pk), "photos": [photo]})
    assert again.status_code == 302 and Complaint.objects.count() == 1


def test_bad_input_is_shown_on_the_form_and_nothing_is_filed(parent, registered):
    response = signed_in(parent).post("/complaints/new", form(institution=registered.pk, description="太短"))
    assert response.status_code == 422
    assert "10–2000" in response.content.decode() and Complaint.objects.count() == 0
    big = SimpleUploadedFile("fake.jpg", b"not an image at all" * 10, "image/jpeg")
    response = signed_in(parent).post("/complaints/new", {**form(institution=registered.pk), "photos": [big]})
    assert response.status_code == 415 and Complaint.objects.count() == 0


def test_a_new_institution_from_the_page(parent, registered_b):
    client = signed_in(parent)
    response = client.post(
        "/complaints/new", form(new_name="无名托管班", new_address="李渡街道某小区", town_id=registered_b.town_id)
    )
    assert response.status_code == 302
    assert Complaint.objects.get().institution.status == "unlicensed"


def test_others_cannot_file_or_see(parent, other_parent, staff_a, registered):
    assert signed_in(staff_a).get("/complaints/new").status_code == 403
    signed_in(parent).post("/complaints/new", form(institution=registered.pk))
    cid = Complaint.objects.get().pk
    assert signed_in(parent).get(f"/complaints/{cid}/").status_code == 200
    assert signed_in(other_parent).get(f"/complaints/{cid}/").status_code == 404


def test_every_problem_is_shown_at_once_beside_its_field_with_a_summary_and_nothing_lost(parent):
    form_data = {
        "category": "no-such-category",
        "description": "太短",
        "occurred_at": "",
        "new_name": "",
        "new_address": "李渡街道某小区 3 栋",
        "child_grade": "g3",
        "disclose_identity": "on",
        "key": "web-key-0002",
    }
    response = signed_in(parent).post("/complaints/new", form_data)
    html = response.content.decode()
    assert response.status_code == 422 and Complaint.objects.count() == 0
    assert set(response.context["errors"]) == {"new_name", "town_id", "category", "description", "occurred_at"}
    opening = '<div class="error-summary" role="alert" data-testid="error-summary">'
    summary = html[html.index(opening) : html.index("</div>", html.index(opening))]
    for field in ("new_name", "town_id", "category", "description", "occurred_at"):
        assert f'href="#{field}"' in summary  # the summary links to the field
        assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html  # and it says so beside it
    assert "10–2000" in summary and "现为 2 个" in html
    # What the parent typed comes back.
    assert "李渡街道某小区 3 栋" in html and ">太短</textarea>" in html and "checked" in html
    assert 'value="g3" selected' in html


def test_the_form_speaks_one_language_its_categories_too(parent, registered):
    from supervision.models import ComplaintCategory

    category = ComplaintCategory.objects.filter(is_active=True).exclude(name_en="").first()
    client = signed_in(parent)
    assert category.name_zh in client.get(report_url(registered)).content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(report_url(registered)).content.decode()
    assert category.name_en in html and f">{category.name_zh}<" not in html


@pytest.mark.django_db
def test_a_visitor_without_an_account_is_offered_the_web_sign_up_back_to_the_form(client):
    """No "app" to install: the sign-up page, which brings the visitor back to the complaint form."""
    response = client.get("/complaints/new?institution=7")
    link = f'/accounts/signup/?next={quote("/complaints/new?institution=7")}'
    assert link in response.content.decode()
    assert "App" not in response.content.decode()
