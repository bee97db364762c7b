"""The admission web pages with Django's client: the applicant drafts (pre-filled from the last application), adds
scans, completes and submits, sees where each application stands and renews; reviewers get a queue of their own
step (school: their school; bureau: their towns) with approve / return-with-message, and scans through the logged
view. Anyone else gets 404."""

from __future__ import annotations

import pytest

from afterschool.admission.models import Admission
from core.models import AuditEvent, Notification
from tests.conftest import make_user
from tests.factories import SessionFactory

from .admission_support import admitted, application_data, id_no, jpeg_scan, pdf_scan

pytestmark = pytest.mark.django_db
MINE, NEW, QUEUE = "/afterschool/admissions/", "/afterschool/admissions/new/", "/afterschool/admissions/review/"


def as_user(client, user):
    client.force_login(user)
    return client


def form_of(school, seq=1, **change) -> dict:
    data = application_data(school, seq)
    q = data.pop("qualifications")[0]
    form = {
        "name": data["name"],
        "id_number": data["id_number"],
        "school_id": str(school.pk),
        "paid": "on",
        "q0_kind": q["kind"],
        "q0_number": q["number"],
        "q0_issuer": q["issuer"],
        "q0_expires_on": q["expires_on"],
        "record_issuer": data["record_issuer"],
        "record_issued_on": data["record_issued_on"],
        "health_issuer": data["health_issuer"],
        "health_issued_on": data["health_issued_on"],
    }
    return {**form, **change}


def submitted(client, coach, school) -> Admission:
    """Through the applicant's pages: draft, five scans, consent ticked, submitted."""
    c = as_user(client, coach)
    r = c.post(NEW, form_of(school))
    assert r.status_code == 302, r.content.decode()[:2000]
    a = Admission.objects.get()
    url = f"/afterschool/admissions/{a.pk}/"
    assert r["Location"] == url
    scans = (("photo", jpeg_scan()), ("qualification", jpeg_scan()), ("criminal_record", pdf_scan()))
    for kind, scan in (*scans, ("health", jpeg_scan())):
        assert c.post(url, {"action": "upload", "kind": kind, "file": scan}).status_code == 302
    r = c.post(url, {"action": "submit"})
    assert r.status_code == 422 and "缺少材料" in r.content.decode()
    assert c.post(url, {"action": "upload", "kind": "consent", "file": pdf_scan()}).status_code == 302
    r = c.post(url, {"action": "submit"})
    assert r.status_code == 422 and "同意书" in r.content.decode()
    update = {k: v for k, v in form_of(school).items() if k.startswith(("q0_", "record_", "health_"))}
    assert c.post(url, {"action": "update", "consent_signed": "on", **update}).status_code == 302
    assert c.post(url, {"action": "submit"}).status_code == 302
    a.refresh_from_db()
    assert a.status == "school_review" and a.consent_signed and a.qualifications[0]["kind"] == "教练员证"
    return a


def test_the_applicant_drafts_completes_and_submits_through_the_pages(client, coach, term_x, school_admin_x):
    a = submitted(client, coach, term_x.school)
    page = client.get(MINE).content.decode()
    assert "学校审核中" in page and "X 小学" in page and id_no(1) not in page
    assert Notification.objects.filter(recipient=school_admin_x, kind="admission.school_review").exists()
    detail = client.get(f"/afterschool/admissions/{a.pk}/").content.decode()
    assert "提交审核" not in detail  # submitted: no more changes
    assert f"/afterschool/admissions/{a.pk}/documents/" not in detail  # the applicant has no scan links


def test_the_new_form_is_prefilled_from_the_last_application(client, coach, school_admin_x, bureau_staff, term_x):
    admitted(coach, school_admin_x, bureau_staff, term_x.school)
    page = as_user(client, coach).get(NEW).content.decode()
    assert 'data-testid="prefilled"' in page
    assert 'value="陈教练"' in page and 'value="涪陵区公安分局"' in page and 'value="JL-001"' in page
    assert id_no(1) not in page  # the ID number is typed again


def test_bad_input_on_the_form_is_shown_and_nothing_is_written(client, coach, term_x):
    c = as_user(client, coach)
    bad_id = id_no(1)[:-1] + ("0" if id_no(1)[-1] != "0" else "1")
    r = c.post(NEW, form_of(term_x.school, id_number=bad_id))
    assert r.status_code == 422 and "校验位" in r.content.decode() and bad_id not in r.content.decode()
    r = c.post(NEW, form_of(term_x.school, record_issued_on="2026-01-01"))
    assert r.status_code == 422 and "无犯罪记录证明须为近 6 个月内出具" in r.content.decode()
    r = c.post(NEW, form_of(term_x.school, school_id="999999"))
    assert r.status_code == 422 and "学校不存在" in r.content.decode()
    assert Admission.objects.count() == 0
    a = submitted(client, coach, term_x.school)
    r = c.post(f"/afterschool/admissions/{a.pk}/", {"action": "upload", "kind": "photo", "file": jpeg_scan()})
    assert r.status_code == 409 and a.documents.count() == 5


def test_renewal_from_the_applicants_page(client, coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    c = as_user(client, coach)
    assert "续期" in c.get(MINE).content.decode()
    r = c.post(f"/afterschool/admissions/{a.pk}/", {"action": "renew"})
    draft = Admission.objects.get(renewal_of=a)
    assert r.status_code == 302 and r["Location"] == f"/afterschool/admissions/{draft.pk}/"
    page = c.get(r["Location"]).content.decode()
    assert draft.status == "draft" and 'value="JL-001"' in page and "提交审核" in page


def test_reviewers_queue_approve_and_return(client, coach, school_admin_x, bureau_staff, term_x):
    a = submitted(client, coach, term_x.school)
    c = as_user(client, school_admin_x)
    page = c.get(QUEUE).content.decode()
    assert f'data-testid="queue-{a.pk}"' in page and "陈教练" in page
    review = f"/afterschool/admissions/{a.pk}/review"
    r = c.post(review, {"decision": "return", "message": ""})
    assert r.status_code == 422 and "退回须说明" in r.content.decode()
    assert Admission.objects.get(pk=a.pk).status == "school_review"
    assert c.post(review, {"decision": "return", "message": "请补充教练员证扫描件"}).status_code == 302
    assert Admission.objects.get(pk=a.pk).status == "returned"
    assert Notification.objects.filter(recipient=coach, kind="admission.returned").exists()
    assert "请补充教练员证扫描件" in as_user(client, coach).get(MINE).content.decode()

    url = f"/afterschool/admissions/{a.pk}/"
    as_user(client, coach).post(url, {"action": "upload", "kind": "qualification", "file": jpeg_scan()})
    as_user(client, coach).post(url, {"action": "submit"})
    c = as_user(client, school_admin_x)
    assert 'data-testid="scan-missing"' not in c.get(QUEUE).content.decode()
    r = c.post(review, {"decision": "approve"})
    assert r.status_code == 302 and Admission.objects.get(pk=a.pk).status == "bureau_review"
    assert f'data-testid="queue-{a.pk}"' not in c.get(QUEUE).content.decode()  # not the school's step any more

    b = as_user(client, bureau_staff)
    assert f'data-testid="queue-{a.pk}"' in b.get(QUEUE).content.decode()
    assert b.post(review, {"decision": "approve", "message": "同意准入"}).status_code == 302
    a.refresh_from_db()
    assert a.status == "admitted" and a.valid_until is not None
    assert "已准入" in as_user(client, coach).get(MINE).content.decode()


def test_scans_through_the_logged_view_for_reviewers_only(client, coach, school_admin_x, school_admin_y, term_x):
    a = submitted(client, coach, term_x.school)
    doc = a.documents.first()
    url = f"/afterschool/admissions/{a.pk}/documents/{doc.pk}"
    assert url in as_user(client, school_admin_x).get(QUEUE).content.decode()
    detail = client.get(f"/afterschool/admissions/{a.pk}/").content.decode()
    assert url in detail and "未命中" in detail and 'data-testid="review-' in detail
    # The scan of the qualification declared was required before submitting: the reviewer finds it among them.
    assert a.documents.filter(kind="qualification").count() == len(a.qualifications) == 1
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == doc.content_type and r["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(verb="admission.document_viewed", actor=school_admin_x).count() == 1
    for outsider in (coach, school_admin_y):
        assert as_user(client, outsider).get(url).status_code == 404
    assert AuditEvent.objects.filter(verb="admission.document_viewed").count() == 1


def test_others_get_404(client, coach, school_admin_y, inspector_b, parent, term_x):
    a = submitted(client, coach, term_x.school)
    for outsider in (school_admin_y, inspector_b, parent, make_user("路人")):
        c = as_user(client, outsider)
        assert c.get(f"/afterschool/admissions/{a.pk}/").status_code == 404
        assert c.post(f"/afterschool/admissions/{a.pk}/review", {"decision": "approve"}).status_code == 404
        assert c.post(f"/afterschool/admissions/{a.pk}/", {"action": "submit"}).status_code == 404
        assert "陈教练" not in c.get(MINE).content.decode()
    assert as_user(client, school_admin_y).get(QUEUE).status_code == 200
    assert f"queue-{a.pk}" not in client.get(QUEUE).content.decode()
    for nobody in (parent, coach):
        assert as_user(client, nobody).get(QUEUE).status_code == 404
    assert Admission.objects.get(pk=a.pk).status == "school_review"
    client.logout()
    assert client.get(QUEUE).status_code == 302  # to the sign-in page


def test_the_queue_and_the_applicants_list_cost_the_same_for_2_and_12_applications(
    client, school_admin_x, institution_staff, term_x
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from afterschool.admission import services

    from .admission_support import add_documents, service_data

    def make(seqs):
        for seq in seqs:
            a = services.admission_create(actor=institution_staff, **service_data(term_x.school, seq, f"人员{seq}"))
            add_documents(institution_staff, a)
            services.admission_submit(actor=institution_staff, admission=a)

    def cost(user, url, expect):
        c = as_user(client, user)
        c.get(url)
        with CaptureQueriesContext(connection) as ctx:
            body = c.get(url).content.decode()
        assert body.count("人员") >= expect
        return len(ctx)

    make(range(1, 3))
    queue_small, mine_small = cost(school_admin_x, QUEUE, 2), cost(institution_staff, MINE, 2)
    make(range(3, 13))
    assert cost(school_admin_x, QUEUE, 12) == queue_small
    assert cost(institution_staff, MINE, 12) == mine_small


def test_the_bureau_suspends_reinstates_and_revokes_from_the_page(client, coach, school_admin_x, bureau_staff, term_x):
    from datetime import date, time

    from afterschool.schedule.models import Staff

    from .conftest import make_programme

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    programme = make_programme(term_x, "足球", kind="sports")
    session = SessionFactory(
        programme=programme,
        weekday=4,
        starts_at=time(16),
        ends_at=time(17),
        staff=Staff.objects.get(outside_person=a.person),
        first_date=date(2026, 11, 27),
        last_date=date(2026, 12, 25),
    )
    url = f"/afterschool/admissions/{a.pk}/"
    for not_bureau in (school_admin_x, coach):
        c = as_user(client, not_bureau)
        assert 'data-testid="decide"' not in c.get(url).content.decode()
        assert c.post(url, {"action": "revoke", "reason": "poaching"}).status_code == 403
    assert Admission.objects.get(pk=a.pk).status == "admitted"

    b = as_user(client, bureau_staff)
    assert 'data-testid="decide"' in b.get(url).content.decode()
    r = b.post(url, {"action": "suspend", "reason": "made_up"})
    assert r.status_code == 422 and "请从政策列表中选择原因" in r.content.decode()
    assert b.post(url, {"action": "suspend", "reason": "poor_service", "note": "家长多次反映"}).status_code == 302
    session.refresh_from_db()
    assert Admission.objects.get(pk=a.pk).status == "suspended" and session.staff_id is None and session.needs_staff
    assert b.post(url, {"action": "reinstate", "note": "整改到位"}).status_code == 302
    assert Admission.objects.get(pk=a.pk).status == "admitted"
    assert b.post(url, {"action": "revoke", "reason": "poaching"}).status_code == 302
    a.refresh_from_db()
    assert a.status == "revoked" and a.reason == "poaching"
    assert "招揽学生" in as_user(client, coach).get(MINE).content.decode()


def test_every_problem_of_the_new_form_is_shown_at_once_with_a_summary_and_the_values_kept(client, coach, term_x):
    c = as_user(client, coach)
    sent = form_of(term_x.school, name="", id_number="", school_id="", record_issued_on="2026/01/01",
                   q0_expires_on="soon", record_issuer="涪陵区公安分局李渡派出所")  # fmt: skip
    r = c.post(NEW, sent)
    html = r.content.decode()
    assert r.status_code == 422 and Admission.objects.count() == 0
    wanted = {"name", "id_number", "school_id", "record_issued_on", "q0_expires_on"}
    assert set(r.context["errors"]) == wanted
    opening = '<div class="error-summary" role="alert" data-testid="error-summary">'
    summary = html[html.index(opening) : html.index("</div>", html.index(opening))]
    for field in wanted:
        assert f'href="#{field}"' in summary and f'id="{field}"' in html  # the summary links to the field
        assert f'id="{field}-error"' in html  # and the message stands beside it
    assert 'value="涪陵区公安分局李渡派出所"' in html and 'value="JL-001"' in html and 'value="涪陵区体育局"' in html


def test_a_return_without_a_message_says_so_beside_the_box(client, coach, school_admin_x, term_x):
    a = submitted(client, coach, term_x.school)
    r = as_user(client, school_admin_x).post(f"/afterschool/admissions/{a.pk}/review", {"decision": "return"})
    html = r.content.decode()
    assert r.status_code == 422 and f'id="message-{a.pk}-error"' in html and f'href="#message-{a.pk}"' in html
    assert 'role="alert"' in html


def test_the_application_page_names_every_bad_date_at_once(client, coach, term_x):
    c = as_user(client, coach)
    r = c.post(NEW, form_of(term_x.school))
    url = r["Location"]
    r = c.post(url, {"action": "update", "record_issued_on": "1.1.2026", "health_issued_on": "soon",
                     "q1_expires_on": "x", "record_issuer": "涪陵区公安分局"})  # fmt: skip
    html = r.content.decode()
    assert r.status_code == 422
    assert set(r.context["errors"]) == {"record_issued_on", "health_issued_on", "q1_expires_on"}
    for field in ("record_issued_on", "health_issued_on", "q1_expires_on"):
        assert f'href="#{field}"' in html and f'id="{field}-error"' in html
