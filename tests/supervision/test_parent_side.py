"""The parent's side of a complaint on the web (issue 17): "我的投诉", each complaint's page with its timeline, the
thread, supplements when asked, the rating and reopening within the time; and the SMS of the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts import sms
from supervision.complaints import services
from supervision.complaints.tasks import complaint_outcome_sms
from supervision.models import Complaint, ComplaintMessage

from .conftest import image_bytes

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def file(parent, institution, *, photos=0, key="k1") -> Complaint:
    filing = services.Filing(
        category="refund",
        description="报名后机构拒绝退还剩余费用，多次沟通无果。",
        occurred_at=timezone.now() - timedelta(days=1),
        institution_id=institution.pk,
    )
    pictures = [SimpleUploadedFile(f"p{i}.jpg", image_bytes(), "image/jpeg") for i in range(photos)]
    complaint, _ = services.complaint_file(actor=parent, filing=filing, photos=pictures, idempotency_key=key)
    return complaint


def act(actor, complaint, action, **data) -> Complaint:
    return services.complaint_act(actor=actor, complaint_id=complaint.pk, action=action, data=data)


def investigating(parent, staff, institution, **kw) -> Complaint:
    c = file(parent, institution, **kw)
    for action in ("accept", "assign", "start"):
        act(staff, c, action)
    return c


def answered(parent, staff, institution, **kw) -> Complaint:
    c = investigating(parent, staff, institution, **kw)
    return act(staff, c, "answer", outcome="substantiated", answer="经查属实，已责令机构退费。")


def test_the_parent_finds_their_complaints_from_home_and_menu(parent, staff_a, registered):
    c = answered(parent, staff_a, registered)
    client = signed_in(parent)
    home = client.get("/").content.decode()
    assert 'data-menu="my-complaints"' in home and "/complaints/?filter=to_rate" in home
    mine = client.get("/complaints/").content.decode()  # the menu's entry: all of theirs
    assert f"/complaints/{c.pk}/" in mine and "待评价" in mine
    assert staff_a.name not in mine  # no handler's name on the parent's list


def test_the_page_shows_the_photos_the_timeline_and_the_thread_without_staff_names(
    parent, staff_a, registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        c = investigating(parent, staff_a, registered, photos=2)
    services.complaint_message_post(actor=staff_a, complaint_id=c.pk, body="请补充缴费凭证照片。", awaiting_parent=True)
    html = signed_in(parent).get(f"/complaints/{c.pk}/").content.decode()
    photo = c.photos.order_by("position").first()
    assert f"/complaints/{c.pk}/photos/{photo.pk}?size=thumb" in html and html.count('data-testid="photo"') == 2
    for step in ("已提交", "已受理", "已分派承办人", "开始调查", "承办人请您补充材料（暂停计时）"):
        assert step in html
    assert "请补充缴费凭证照片。" in html and 'data-testid="supplement-form"' in html
    assert staff_a.name not in html  # the bureau speaks as 教育局
    # The thumbnail itself: for the parent yes, for another parent no.
    assert signed_in(parent).get(f"/complaints/{c.pk}/photos/{photo.pk}?size=thumb").status_code == 200


def test_a_message_is_posted_with_htmx_or_a_plain_form_and_an_empty_one_is_refused(parent, staff_a, registered):
    c = investigating(parent, staff_a, registered)
    client = signed_in(parent)
    partial = client.post(f"/complaints/{c.pk}/messages", {"body": "请问进展如何？"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "请问进展如何？" in partial.content.decode()
    assert "<html" not in partial.content.decode()  # the thread alone
    plain = client.post(f"/complaints/{c.pk}/messages", {"body": "补充一句"})
    assert plain.status_code == 302 and plain["Location"].endswith("?done=message#thread")
    empty = client.post(f"/complaints/{c.pk}/messages", {"body": "  "})
    assert empty.status_code == 422 and "留言须为 1–2000 字" in empty.content.decode()
    assert ComplaintMessage.objects.filter(complaint=c, side="parent").count() == 2


def test_a_supplement_answers_the_request_adds_photos_and_restarts_the_clock(
    parent, staff_a, registered, django_capture_on_commit_callbacks
):
    c = investigating(parent, staff_a, registered, photos=1)
    client = signed_in(parent)
    refused = client.post(f"/complaints/{c.pk}/supplement", {"body": "主动补充"})
    assert refused.status_code == 409 and "承办人目前没有请您补充材料" in refused.content.decode()
    services.complaint_message_post(actor=staff_a, complaint_id=c.pk, body="请补充收据。", awaiting_parent=True)
    assert Complaint.objects.get(pk=c.pk).paused_since is not None
    photo = SimpleUploadedFile("r.jpg", image_bytes(), "image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/complaints/{c.pk}/supplement", {"body": "收据见照片。", "photos": [photo]})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.paused_since is None and c.photos.count() == 2
    assert c.photos.filter(position=1, state="ready").exists()  # cleaned by the same task as at filing
    html = client.get(response["Location"]).content.decode()
    assert "补充材料已提交" in html and "您补充了材料 · 1 张照片" in html
    assert 'data-testid="supplement-form"' not in html


def test_a_bad_photo_in_a_supplement_keeps_nothing(parent, staff_a, registered):
    c = investigating(parent, staff_a, registered)
    services.complaint_message_post(actor=staff_a, complaint_id=c.pk, body="请补充收据。", awaiting_parent=True)
    fake = SimpleUploadedFile("x.jpg", b"not an image" * 20, "image/jpeg")
    response = signed_in(parent).post(f"/complaints/{c.pk}/supplement", {"body": "见附件", "photos": [fake]})
    assert response.status_code == 415
    assert c.photos.count() == 0 and not ComplaintMessage.objects.filter(complaint=c, side="parent").exists()
    assert Complaint.objects.get(pk=c.pk).paused_since is not None


def test_the_parent_rates_the_answer_and_a_stale_page_gets_the_fresh_state(parent, staff_a, registered):
    c = answered(parent, staff_a, registered)
    client = signed_in(parent)
    page = client.get(f"/complaints/{c.pk}/").content.decode()
    assert 'data-testid="rate-form"' in page and "经查属实" in page
    bad = client.post(f"/complaints/{c.pk}/rate", {"rating": "9", "version": c.version})
    assert bad.status_code == 422 and "请打 1–5 分" in bad.content.decode()
    stale = client.post(f"/complaints/{c.pk}/rate", {"rating": "4", "version": c.version - 1})
    assert stale.status_code == 409 and "请刷新后重试" in stale.content.decode()
    ok = client.post(f"/complaints/{c.pk}/rate", {"rating": "4", "comment": "及时", "version": c.version})
    assert ok.status_code == 302
    c.refresh_from_db()
    assert (c.status, c.rating, c.rating_comment) == ("closed", 4, "及时")
    html = client.get(ok["Location"]).content.decode()
    assert "感谢您的评价" in html and 'data-testid="rate-form"' not in html


def test_reopening_within_the_time_and_a_clear_refusal_after_it(parent, staff_a, registered):
    c = answered(parent, staff_a, registered)
    client = signed_in(parent)
    page = client.get(f"/complaints/{c.pk}/").content.decode()
    until = timezone.localtime(c.answered_at + timedelta(days=services.sla.reopen_days()))
    assert f"截止 {until:%Y-%m-%d %H:%M}" in page and 'data-testid="reopen-form"' in page
    with time_machine.travel(c.answered_at + timedelta(days=services.sla.reopen_days(), hours=1)):
        late = client.get(f"/complaints/{c.pk}/").content.decode()
        assert 'data-testid="reopen-form"' not in late and "不能再申请重新办理" in late
        refused = client.post(f"/complaints/{c.pk}/reopen", {"comment": "还是没退", "version": c.version})
        assert refused.status_code == 409 and "不能再申请重新办理" in refused.content.decode()
    assert Complaint.objects.get(pk=c.pk).status == "answered"
    empty = client.post(f"/complaints/{c.pk}/reopen", {"comment": "", "version": c.version})
    assert empty.status_code == 422
    ok = client.post(f"/complaints/{c.pk}/reopen", {"comment": "机构仍未退费。", "version": c.version})
    assert ok.status_code == 302
    c.refresh_from_db()
    assert c.status == "investigating" and c.reopen_comment == "机构仍未退费。"
    assert "您申请重新办理" in client.get(f"/complaints/{c.pk}/").content.decode()


def test_nobody_else_sees_or_acts_on_the_complaint(parent, other_parent, staff_a, institution_staff, registered):
    c = answered(parent, staff_a, registered)
    for user in (other_parent, institution_staff):
        client = signed_in(user)
        assert client.get(f"/complaints/{c.pk}/").status_code == 404
        assert client.post(f"/complaints/{c.pk}/rate", {"rating": "1"}).status_code == 404
        assert client.post(f"/complaints/{c.pk}/reopen", {"comment": "x"}).status_code == 404
        assert client.post(f"/complaints/{c.pk}/messages", {"body": "x"}).status_code == 404
        assert client.post(f"/complaints/{c.pk}/supplement", {"body": "x"}).status_code == 404
    # The handler is sent to the desk (their actions are there) and cannot write as the parent.
    assert signed_in(staff_a).get(f"/complaints/{c.pk}/").url == f"/desk/complaints/{c.pk}/"  # staff work on the desk
    assert signed_in(staff_a).post(f"/complaints/{c.pk}/messages", {"body": "x"}).status_code == 404
    assert Complaint.objects.get(pk=c.pk).status == "answered"


def test_the_page_costs_the_same_queries_with_many_messages(parent, staff_a, registered, django_assert_max_num_queries):
    c = investigating(parent, staff_a, registered)
    client = signed_in(parent)
    client.get(f"/complaints/{c.pk}/")
    with django_assert_max_num_queries(20) as few:
        client.get(f"/complaints/{c.pk}/")
    for n in range(15):
        services.complaint_message_post(actor=parent if n % 2 else staff_a, complaint_id=c.pk, body=f"留言 {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"/complaints/{c.pk}/")


# --- The SMS of the outcome ----------------------------------------------------------------------------------------


def test_the_parent_gets_one_sms_when_the_outcome_is_given(
    parent, staff_a, registered, django_capture_on_commit_callbacks
):
    c = investigating(parent, staff_a, registered)
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_a, c, "answer", outcome="partly_substantiated", answer="部分属实，已责令整改。")
    assert len(sms.outbox) == 1
    phone, text = sms.outbox[0]
    assert phone == parent.phone and c.tracking_number in text and "部分属实" in text
    assert staff_a.name not in text
    # The task delivered twice (a retry, a redelivery): still one SMS.
    with django_capture_on_commit_callbacks(execute=True):
        assert complaint_outcome_sms(c.pk) == "already sent"
    assert len(sms.outbox) == 1
    # Reopened and answered again: a new outcome, a new SMS.
    with django_capture_on_commit_callbacks(execute=True):
        act(parent, c, "reopen", comment="仍未整改。")
        act(staff_a, c, "answer", outcome="substantiated", answer="复查属实，已处罚。")
    assert len(sms.outbox) == 2 and "属实" in sms.outbox[1][1]


def test_no_sms_leaves_before_the_answer_is_committed(
    parent, staff_a, registered, django_capture_on_commit_callbacks
):
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        c = investigating(parent, staff_a, registered)
        act(staff_a, c, "answer", outcome="not_substantiated", answer="经查不属实。")
    assert sms.outbox == []  # nothing leaves before the commit
    with django_capture_on_commit_callbacks(execute=True):  # the commit: the task runs, its SMS leaves after its own
        for callback in callbacks:
            callback()
    assert len(sms.outbox) == 1 and "不属实" in sms.outbox[0][1]


def test_the_sms_is_in_the_parents_language(parent, staff_a, registered, django_capture_on_commit_callbacks):
    parent.language = "en"
    parent.save(update_fields=["language"])
    c = investigating(parent, staff_a, registered)
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_a, c, "answer", outcome="substantiated", answer="属实。")
    assert len(sms.outbox) == 1 and c.tracking_number in sms.outbox[0][1]
