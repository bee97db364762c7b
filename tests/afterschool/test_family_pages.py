"""The parents' pages: linking a child (by the class list's phone, or confirmed by the school), what a child may apply
for, applying, ranked choices inside the window and a clear refusal after it, the result and the waitlist place, a
withdrawal with the refund shown before confirming, an exemption request with a document; another family gets 404."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from afterschool.family import services as family
from afterschool.family.models import ChildLinkRequest, GuardianPhone
from afterschool.fees import services as fees
from afterschool.fees.models import Exemption, Refund
from afterschool.schedule.models import Application
from core.models import AuditEvent, Notification
from tests.afterschool.conftest import NOW, enrol, make_programme, make_session, make_student
from tests.conftest import client_for, make_user
from tests.factories import ChoiceWindowFactory, image_bytes

pytestmark = pytest.mark.django_db


# --- Linking --------------------------------------------------------------------------------------------------------


@pytest.fixture
def listed_child(school_x, class_x, school_admin_x):
    """A child on the class list, whose guardian's phone (13800000001, `parent`) the list holds."""
    kid = make_student(school_x, class_x, "刘小宇")
    family.guardian_phones_set(actor=school_admin_x, student=kid, phones=["13800000001"])
    return kid


def _link_form(school, name, grade=3, number=1):
    return {"school_id": school.pk, "grade": grade, "class_number": number, "child_name": name, "relation": "妈妈"}


def test_a_parent_whose_phone_the_class_list_names_is_linked_at_once(parent, listed_child, school_x):
    c = client_for(parent)
    page = c.get("/afterschool/children/link/")
    assert page.status_code == 200 and school_x.name in page.content.decode()
    r = c.post("/afterschool/children/link/", _link_form(school_x, "刘小宇"))
    assert r.status_code == 302 and r["Location"] == "/afterschool/children/"
    assert listed_child.guardians.filter(pk=parent.pk).exists()
    html = c.get("/afterschool/children/").content.decode()
    assert "刘小宇" in html and "已关联刘小宇" in html
    req = ChildLinkRequest.objects.get()
    assert req.status == "confirmed" and req.confirmed_how == "class_list"
    assert AuditEvent.objects.filter(verb="afterschool.child_linked").exists()


def test_a_parent_the_list_does_not_name_is_told_and_the_school_confirms(
    other_parent, listed_child, school_x, school_admin_x, school_admin_y
):
    r = client_for(other_parent).post("/afterschool/children/link/", _link_form(school_x, "刘小宇"))
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="link-requested"' in html
    assert "班级名单上没有登记您的手机号" in html
    assert not listed_child.guardians.filter(pk=other_parent.pk).exists()
    req = ChildLinkRequest.objects.get(status="requested")
    assert Notification.objects.filter(recipient=school_admin_x, kind="afterschool.child_link_requested").exists()
    # The same answer for a name the class list does not have (names are not probed).
    r = client_for(other_parent).post("/afterschool/children/link/", _link_form(school_x, "不存在的孩子"))
    assert 'data-testid="link-requested"' in r.content.decode()
    # A second request for the same child: a clear refusal.
    r = client_for(other_parent).post("/afterschool/children/link/", _link_form(school_x, "刘小宇"))
    assert r.status_code == 409 and "请等待学校确认" in r.content.decode()

    # Another school's admin: not on their list, 404 on the decision; a parent: no list at all.
    assert "刘小宇" not in client_for(school_admin_y).get("/afterschool/link-requests/").content.decode()
    assert client_for(other_parent).get("/afterschool/link-requests/").status_code == 404
    assert client_for(school_admin_y).post(f"/afterschool/link-requests/{req.pk}/decide",
                                           {"decision": "confirm"}).status_code == 404  # fmt: skip
    admin = client_for(school_admin_x)
    listing = admin.get("/afterschool/link-requests/").content.decode()
    assert "刘小宇" in listing and "不存在的孩子" in listing and "名单中没有该姓名" in listing
    decide = f"/afterschool/link-requests/{req.pk}/decide"
    r = admin.post(decide, {"decision": "confirm", "student_id": listed_child.pk})
    assert r.status_code == 302
    assert listed_child.guardians.filter(pk=other_parent.pk).exists()
    assert GuardianPhone.objects.filter(student=listed_child, phone=other_parent.phone).exists()
    assert Notification.objects.filter(recipient=other_parent, kind="afterschool.child_link_decided").exists()
    # Deciding twice: refused with a message, nothing changes.
    admin.post(f"/afterschool/link-requests/{req.pk}/decide", {"decision": "reject"})
    assert ChildLinkRequest.objects.get(pk=req.pk).status == "confirmed"


def test_linking_bad_input(parent, school_x, class_x):
    c = client_for(parent)
    r = c.post("/afterschool/children/link/", {"school_id": "", "grade": "", "class_number": "x", "child_name": ""})
    html = r.content.decode()
    assert r.status_code == 422 and "请选择学校" in html and "请填写孩子姓名" in html
    r = c.post("/afterschool/children/link/", _link_form(school_x, "刘小宇", grade=3, number=9))
    assert r.status_code == 422 and "没有3年级9班" in r.content.decode()
    assert not ChildLinkRequest.objects.exists()


def test_a_malformed_phone_on_the_class_list_is_refused(school_admin_x, school_x, class_x):
    from core.errors import DomainError

    kid = make_student(school_x, class_x, "周小雨")
    with pytest.raises(DomainError) as e:
        family.guardian_phones_set(actor=school_admin_x, student=kid, phones=["13800000001", "1380000"])
    assert e.value.code == "student.bad_phone" and not GuardianPhone.objects.exists()


# --- One child: options, applying, choices, results, withdrawal ------------------------------------------------------


@pytest.fixture
def offer(term_x, teacher_x, teacher_x2):
    reading = make_programme(term_x, "阅读社", capacity=1)
    make_session(reading, teacher_x, weekday=0)
    chess = make_programme(term_x, "围棋", capacity=10)
    make_session(chess, teacher_x2, weekday=1)
    return {"reading": reading, "chess": chess}


def test_the_child_page_lists_what_may_be_applied_for_and_applies(parent, child, offer, teacher_x):
    c = client_for(parent)
    html = c.get(f"/afterschool/children/{child.pk}/").content.decode()
    assert "阅读社" in html and "围棋" in html and html.count('data-testid="option"') == 2
    r = c.post(f"/afterschool/children/{child.pk}/apply/", {"programme_id": offer["chess"].pk})
    assert r.status_code == 302
    app = Application.objects.get(student=child, programme=offer["chess"])
    assert app.status == "pending"
    html = c.get(f"/afterschool/children/{child.pk}/").content.decode()
    assert "待班主任审核" in html and html.count('data-testid="option"') == 1
    # Twice: a clear message, nothing doubled.
    c.post(f"/afterschool/children/{child.pk}/apply/", {"programme_id": offer["chess"].pk})
    assert Application.objects.filter(student=child, programme=offer["chess"]).count() == 1


def test_someone_elses_child_is_404_everywhere(other_parent, child, offer, school_admin_x):
    c = client_for(other_parent)
    for url in (
        f"/afterschool/children/{child.pk}/",
        f"/afterschool/children/{child.pk}/exemption/",
        f"/afterschool/children/{child.pk}/windows/1/",
    ):
        assert c.get(url).status_code == 404, url
    assert c.post(f"/afterschool/children/{child.pk}/apply/", {"programme_id": offer["chess"].pk}).status_code == 404
    assert not Application.objects.exists()


def test_the_waitlist_place_and_the_result_are_shown(parent, child, other_child, offer, class_x, school_x):
    third = make_student(school_x, class_x, "赵小六")
    enrol(other_child, offer["reading"])  # the only place is taken
    Application.objects.create(student=third, programme=offer["reading"], status="waitlisted", priority=True)
    Application.objects.create(student=child, programme=offer["reading"], status="waitlisted")
    html = client_for(parent).get(f"/afterschool/children/{child.pk}/").content.decode()
    assert "候补第 2 位" in html and 'data-status="waitlisted"' in html


def _window(term, programmes, opens, closes):
    w = ChoiceWindowFactory(school=term.school, term=term, opens_at=opens, closes_at=closes)
    w.programmes.set(programmes)
    return w


def test_ranked_choices_inside_the_window_then_a_clear_refusal_after_it(parent, child, offer, term_x):
    w = _window(term_x, [offer["reading"], offer["chess"]], NOW - timedelta(days=1), NOW + timedelta(days=2))
    c = client_for(parent)
    url = f"/afterschool/children/{child.pk}/windows/{w.pk}/"
    assert 'data-testid="choices-form"' in c.get(url).content.decode()
    r = c.post(url, {"choice1": offer["chess"].pk, "choice2": offer["reading"].pk, "choice3": ""})
    assert r.status_code == 302
    ranks = dict(Application.objects.filter(window=w, student=child).values_list("rank", "programme_id"))
    assert ranks == {1: offer["chess"].pk, 2: offer["reading"].pk}
    # The same programme twice: refused beside the field.
    r = c.post(url, {"choice1": offer["chess"].pk, "choice2": offer["chess"].pk})
    assert r.status_code == 422 and "个不同项目" in r.content.decode()

    closed = _window(term_x, [offer["reading"]], NOW - timedelta(days=5), NOW - timedelta(hours=1))
    url = f"/afterschool/children/{child.pk}/windows/{closed.pk}/"
    page = c.get(url).content.decode()
    assert "志愿填报已于" in page and "截止" in page and 'data-testid="choices-form"' not in page
    r = c.post(url, {"choice1": offer["reading"].pk})
    assert r.status_code == 409 and "不能再提交或修改志愿" in r.content.decode()
    assert not Application.objects.filter(window=closed).exists()


@pytest.fixture
def billed(child, term_x, teacher_x, school_admin_x):
    """The child enrolled on Monday reading all term, billed 3.00 a lesson."""
    p = make_programme(term_x, "书法")
    make_session(p, teacher_x, weekday=0)
    app = enrol(child, p, active_from=date(2026, 9, 1))
    fees.rate_set(actor=school_admin_x, term_id=term_x.pk, basis="per_lesson", amount="3.00")
    fees.bills_issue(actor=school_admin_x, term_id=term_x.pk)
    return app


def test_withdrawal_shows_the_refund_before_confirming(parent, child, billed):
    c = client_for(parent)
    url = f"/afterschool/children/{child.pk}/applications/{billed.pk}/withdraw/"
    page = c.get(url).content.decode()
    # From Monday 30 November (the next school day after Wednesday 25) to 28 December: 5 Mondays at 3.00.
    assert 'data-testid="refund-preview"' in page and "15.00" in page and "2026-11-26" in page
    assert not Refund.objects.exists()  # nothing written by looking
    r = c.post(url)
    assert r.status_code == 302
    refund = Refund.objects.get()
    assert refund.amount.to_eng_string() == "15.00"
    html = c.get(f"/afterschool/children/{child.pk}/").content.decode()
    assert "退费 15.00 元" in html and "已退出" in html


def test_an_exemption_request_with_a_document(parent, other_parent, child, billed, school_admin_x, bureau_staff):
    c = client_for(parent)
    assert c.get(f"/afterschool/children/{child.pk}/exemption/").status_code == 200
    term_id = billed.programme.term_id
    r = c.post(f"/afterschool/children/{child.pk}/exemption/",
               {"term_id": term_id, "kind": "reduce", "amount": "1.234", "reason": "困难"})  # fmt: skip
    assert r.status_code == 422 and "最多两位小数" in r.content.decode()
    photo = SimpleUploadedFile("proof.jpg", image_bytes(), content_type="image/jpeg")
    r = c.post(f"/afterschool/children/{child.pk}/exemption/",
               {"term_id": term_id, "kind": "exempt", "reason": "低保家庭", "document": photo})  # fmt: skip
    assert r.status_code == 302
    e = Exemption.objects.get()
    assert e.status == "applied" and e.document and e.document_type == "image/jpeg"
    url = f"/afterschool/exemptions/{e.pk}/document"
    assert c.get(url).status_code == 200
    assert client_for(school_admin_x).get(url).status_code == 200
    assert client_for(other_parent).get(url).status_code == 404
    teacher = make_user("某老师", Role.TEACHER, school=child.school)
    assert client_for(teacher).get(url).status_code == 404
    # A file that is neither an image nor a PDF: refused, nothing stored.
    bad = SimpleUploadedFile("x.txt", b"hello", content_type="text/plain")
    e.delete()
    r = c.post(f"/afterschool/children/{child.pk}/exemption/",
               {"term_id": term_id, "kind": "exempt", "reason": "低保家庭", "document": bad})  # fmt: skip
    assert r.status_code == 415 and "图片" in r.content.decode() and not Exemption.objects.exists()


def test_the_child_page_costs_the_same_queries_whatever_the_history(
    parent, child, offer, term_x, django_assert_max_num_queries
):
    c = client_for(parent)
    c.get(f"/afterschool/children/{child.pk}/")
    with django_assert_max_num_queries(30) as few:
        c.get(f"/afterschool/children/{child.pk}/")
    n = len(few.captured_queries)
    for i in range(8):
        p = make_programme(term_x, f"社团{i}")
        Application.objects.create(student=child, programme=p, status="pending")
    with django_assert_max_num_queries(n):
        assert c.get(f"/afterschool/children/{child.pk}/").status_code == 200


def test_the_children_page_leads_to_linking_and_each_child(parent, child):
    html = client_for(parent).get("/afterschool/children/").content.decode()
    assert "/afterschool/children/link/" in html and f"/afterschool/children/{child.pk}/" in html
