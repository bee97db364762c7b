"""Admission documents are inert when served: the polyglot PDF of the report is refused at upload; what is stored is
served only to reviewers, PDFs as attachments, every file with its own sandbox CSP and nosniff."""


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from afterschool.models import AdmissionDocument
from tests.conftest import PASSWORD, assert_error
from tests.factories import AdmissionDocumentFactory

from .admission_support import admitted, application_data

pytestmark = pytest.mark.django_db
BASE = "afterschool/admissions"

POLYGLOT = (
    b"%PDF-1.4\n<html><body><script>fetch('/api/v1/me').then(r=>r.text()).then(alert)</script></body></html>\n"
    b"1 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def test_the_polyglot_pdf_is_refused_and_nothing_is_stored(api_as, coach, term_x):
    me = api_as(coach, lang="en")
    a = me.post(BASE, application_data(term_x.school)).json()
    f = SimpleUploadedFile("consent.pdf", POLYGLOT, content_type="application/pdf")
    r = me.client.post(f"/api/v1/{BASE}/{a['id']}/documents", {"kind": "consent", "file": f}, **me._headers({}))
    error = assert_error(r, 422, "upload.active_content")
    assert "active content" in error["message"] and "file" in error["fields"]
    assert AdmissionDocument.objects.filter(admission_id=a["id"]).count() == 0


def test_documents_are_served_as_inert_attachments(api_as, coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    scan = a.documents.first()
    pdf = AdmissionDocumentFactory(admission=a, kind=AdmissionDocument.Kind.CONSENT)

    web = Client()
    assert web.login(username=school_admin_x.username or school_admin_x.phone, password=PASSWORD)
    for get in (
        lambda d: api_as(school_admin_x).get(f"{BASE}/{a.pk}/documents/{d.pk}"),
        lambda d: web.get(f"/afterschool/admissions/{a.pk}/documents/{d.pk}"),
    ):
        served = get(pdf)
        assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
        assert served["Content-Disposition"].startswith("attachment; filename=")
        assert served["Content-Security-Policy"].startswith("sandbox")
        assert "default-src 'none'" in served["Content-Security-Policy"]
        assert served["X-Content-Type-Options"] == "nosniff" and served["Cache-Control"] == "private, no-store"
        image = get(scan)
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
        assert image["Content-Disposition"].startswith("inline; filename=")  # re-encoded pixels, viewed in a tab
        assert image["Content-Security-Policy"].startswith("sandbox") and image["X-Content-Type-Options"] == "nosniff"
