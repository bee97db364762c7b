"""The handler's desk through its pages: the queue, a complaint's page and its actions, the board, answer templates."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from core.models import AuditEvent, Notification
from supervision.complaints import services
from supervision.models import AnswerTemplate, Complaint, RoutingRule, StatementRequest
from tests.conftest import TOWN_A, TOWN_B, make_user, region

pytestmark = pytest.mark.django_db

ANSWER = "经调查，机构确未按约定退费，已责令其在五个工作日内退还剩余费用。"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def filed(parent, institution, description="报名后孩子只上了两节课，机构拒绝退还剩余费用。", category="refund"):
    complaint, _ = services.complaint_file(
        actor=parent,
        filing=services.Filing(
            category=category,
            description=description,
            occurred_at=timezone.now() - timedelta(days=2),
            institution_id=institution.pk,
        ),
    )
    return complaint


@pytest.fixture
def routed(staff_a, staff_b):
    RoutingRule.objects.create(town=region(TOWN_A), handler=staff_a)
    RoutingRule.objects.create(town=region(TOWN_B), handler=staff_b)
    services.clear_routing_cache()


def fresh(c) -> Complaint:
    return Complaint.objects.get(pk=c.pk)


def test_only_bureau_staff_reach_the_desk_and_only_their_towns(parent, inst_staff, staff_a, staff_b, registered,
                                                                 routed, client):  # fmt: skip
    c = filed(parent, registered)
    assert client.get("/desk/").status_code == 302  # sign in first
    assert signed_in(parent).get("/desk/").status_code == 404
    assert signed_in(inst_staff).get("/desk/").status_code == 404
    assert signed_in(parent).get(f"/desk/complaints/{c.pk}/").status_code == 404  # their own, but not the desk
    assert signed_in(inst_staff).get(f"/desk/complaints/{c.pk}/").status_code == 404
    assert signed_in(staff_b).get(f"/desk/complaints/{c.pk}/").status_code == 404  # town B's handler
    assert signed_in(staff_b).post(f"/desk/complaints/{c.pk}/take", {"version": c.version}).status_code == 404
    assert f"row-{c.pk}" not in signed_in(staff_b).get("/desk/").content.decode()
    page = signed_in(staff_a).get(f"/desk/complaints/{c.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert c.description in html and 'data-testid="action-accept"' in html
    assert "13800000001" not in html and "138****0001" in html  # the parent's phone masked


def test_the_queue_filters_and_counts(parent, staff_a, supervisor, registered, registered_b, routed):
    a1, a2 = filed(parent, registered), filed(parent, registered, category="over_hours")
    b1 = filed(parent, registered_b)
    services.complaint_take(actor=staff_a, complaint_id=a2.pk)
    Complaint.objects.filter(pk=a1.pk).update(sla_due_on=timezone.localdate() - timedelta(days=3))
    own = signed_in(staff_a)
    html = own.get("/desk/").content.decode()
    assert f"row-{a1.pk}" in html and f"row-{a2.pk}" in html and f"row-{b1.pk}" not in html
    submitted = own.get("/desk/?state=submitted").content.decode()
    assert f"row-{a1.pk}" in submitted and f"row-{a2.pk}" not in submitted
    assert re.search(r'data-testid="facet-state-submitted">[^<]*<span class="n">1<', submitted)
    overdue = own.get("/desk/?state=open&deadline=overdue").content.decode()
    assert f"row-{a1.pk}" in overdue and f"row-{a2.pk}" not in overdue
    assert f"row-{a2.pk}" in own.get("/desk/?category=over_hours").content.decode()
    assert f"row-{a1.pk}" not in own.get("/desk/?category=over_hours").content.decode()
    assert f"row-{b1.pk}" in signed_in(supervisor).get(f"/desk/?town={registered_b.town_id}").content.decode()
    by_institution = signed_in(supervisor).get(f"/desk/?state=all&institution={registered.pk}").content.decode()
    assert f"row-{a1.pk}" in by_institution and f"row-{b1.pk}" not in by_institution
    assert own.get("/desk/?state=bogus&deadline=x&town=abc").status_code == 200  # unknown values are ignored


def test_the_home_cards_of_a_handler_lead_to_the_desk_with_the_same_count(parent, staff_a, registered, routed):
    c = filed(parent, registered)
    home = signed_in(staff_a).get("/").content.decode()
    href = re.search(r'href="([^"]+)"[^>]*data-testid="card-complaints-to-accept"', home) or re.search(
        r'data-testid="card-complaints-to-accept"[^>]*href="([^"]+)"', home
    )
    assert href and href.group(1).startswith("/desk/")
    listed = signed_in(staff_a).get(href.group(1).replace("&amp;", "&")).content.decode()
    assert f"row-{c.pk}" in listed
    assert re.search(r'data-testid="list-count">1<', listed)


def test_accept_ask_the_institution_conclude_with_a_template(parent, staff_a, registered, inst_staff, routed):
    template = AnswerTemplate.objects.create(title="退费", outcome="substantiated", body=ANSWER)
    c = filed(parent, registered)
    own = signed_in(staff_a)
    response = own.post(f"/desk/complaints/{c.pk}/take", {"version": c.version})
    assert response.status_code == 302 and "done=take" in response["Location"]
    c = fresh(c)
    assert c.status == "assigned" and c.handler == staff_a
    response = own.post(
        f"/desk/complaints/{c.pk}/request_statement",
        {"version": c.version, "question": "请说明拒绝退费的原因", "due_working_days": "3"},
    )
    assert response.status_code == 302
    assert StatementRequest.objects.get(complaint=c).institution == registered
    c = fresh(c)
    assert c.status == "investigating"
    page = own.get(f"/desk/complaints/{c.pk}/").content.decode()
    assert 'data-testid="action-conclude"' in page and "退费" in page
    response = own.post(
        f"/desk/complaints/{c.pk}/conclude",
        {"version": c.version, "outcome": "substantiated", "answer": "", "template": str(template.pk)},
    )
    assert response.status_code == 302
    c = fresh(c)
    assert c.status == "answered" and c.answer == ANSWER and c.answered_on_time is True
    assert c.answer_working_days == 0
    page = own.get(f"/desk/complaints/{c.pk}/").content.decode()
    for testid in ("event-complaint.submit", "event-complaint.accept", "event-statement.request",
                   "event-complaint.answer"):  # fmt: skip
        assert testid in page
    assert 'data-testid="action-conclude"' not in page  # no longer allowed


def test_a_stale_version_shows_the_fresh_state_and_changes_nothing(parent, staff_a, supervisor, registered, routed):
    c = filed(parent, registered)
    seen = c.version
    services.complaint_take(actor=supervisor, complaint_id=c.pk)  # someone else acted meanwhile
    response = signed_in(staff_a).post(f"/desk/complaints/{c.pk}/send_back", {"version": seen, "reason": "不属于本人"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="stale-message"' in html and "旧版本" in html
    assert fresh(c).handler == supervisor and supervisor.name in html  # the fresh state is shown
    response = signed_in(staff_a).post(f"/desk/complaints/{c.pk}/take", {})  # no version at all: refused too
    assert response.status_code == 409 and fresh(c).handler == supervisor


def test_transfer_to_a_town_without_a_handler_is_refused_clearly(parent, staff_a, staff_b, registered, routed):
    c = filed(parent, registered)
    no_handler = region("500102007")  # a town without a routing rule
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/transfer",
        {"version": c.version, "town_id": no_handler.pk, "reason": "机构实际在该镇"},
    )
    assert response.status_code == 422
    assert "尚未设置投诉承办人" in response.content.decode()
    assert fresh(c).town_id == registered.town_id
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/transfer",
        {"version": c.version, "town_id": region(TOWN_B).pk, "reason": "机构实际经营地在李渡"},
    )
    assert response.status_code == 302 and response["Location"].startswith("/desk/?")  # no longer theirs
    c = fresh(c)
    assert c.town == region(TOWN_B) and c.handler == staff_b
    assert AuditEvent.objects.filter(verb="complaint.transfer", object_id=str(c.pk)).exists()
    assert signed_in(staff_b).get(f"/desk/complaints/{c.pk}/").status_code == 200
    assert Notification.objects.filter(recipient=staff_b, kind="complaint.transfer").exists()


def test_an_answer_shorter_than_the_minimum_is_refused(parent, staff_a, registered, routed):
    c = services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/conclude", {"version": c.version, "outcome": "not_substantiated", "answer": "已处理"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "答复内容至少 20 个字" in html and 'data-testid="field-error-conclude"' in html
    assert "已处理" in html  # what was typed is kept
    assert fresh(c).status == "assigned"


def test_send_back_ask_the_parent_and_press(parent, staff_a, supervisor, registered, routed):
    c = filed(parent, registered)
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/send_back", {"version": c.version, "reason": "非本人辖区业务"}
    )
    assert response.status_code == 302
    c = fresh(c)
    assert c.handler is None and Notification.objects.filter(recipient=supervisor, kind="complaint.send_back").exists()
    c = services.complaint_take(actor=staff_a, complaint_id=c.pk)
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/ask_parent", {"version": c.version, "body": "请补充缴费凭证照片"}
    )
    assert response.status_code == 302 and fresh(c).paused_since is not None
    c = fresh(c)
    assert 'data-testid="action-press"' not in signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/press", {"version": c.version, "due_on": "2099-01-01", "note": "请尽快"}
    ).status_code == 403
    page = signed_in(supervisor).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert 'data-testid="action-press"' in page
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = signed_in(supervisor).post(
        f"/desk/complaints/{c.pk}/press", {"version": c.version, "due_on": due, "note": "请两日内办结"}
    )
    assert response.status_code == 302
    assert Notification.objects.filter(recipient=staff_a, kind="complaint.pressed").exists()
    event = AuditEvent.objects.get(verb="complaint.press", object_id=str(c.pk))
    assert event.data["due_on"] == due and event.actor == supervisor
    past = signed_in(supervisor).post(
        f"/desk/complaints/{c.pk}/press", {"version": c.version, "due_on": "2000-01-01", "note": "请两日内办结"}
    )
    assert past.status_code == 422


def test_revealing_the_contact_is_audited(parent, staff_a, registered, routed):
    c = filed(parent, registered)
    response = signed_in(staff_a).post(f"/desk/complaints/{c.pk}/contact", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13800000001" in response.content.decode()
    assert AuditEvent.objects.filter(verb="personal_data.view", object_id=str(c.pk), actor=staff_a).exists()
    assert signed_in(parent).post(f"/desk/complaints/{c.pk}/contact").status_code == 404


def test_duplicates_side_by_side_and_merge(parent, other_parent, staff_a, registered, routed):
    first = filed(parent, registered)
    second = filed(other_parent, registered, description="同一机构拒绝退款，多位家长遇到同样问题。")
    page = signed_in(staff_a).get(f"/desk/complaints/{second.pk}/").content.decode()
    assert f'data-testid="duplicate-{first.pk}"' in page
    response = signed_in(staff_a).post(
        f"/desk/complaints/{second.pk}/merge", {"version": second.version, "duplicate_of": first.pk}
    )
    assert response.status_code == 302
    assert fresh(second).merged_into == first and fresh(second).status == "rejected"


def test_a_photo_thumbnail_links_to_the_full_photo(parent, staff_a, registered, routed,
                                                    django_capture_on_commit_callbacks):  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import image_bytes

    with django_capture_on_commit_callbacks(execute=True):
        c, _ = services.complaint_file(
            actor=parent,
            filing=services.Filing(category="refund", description="机构拒绝退还剩余费用，附缴费凭证。",
                                   occurred_at=timezone.now(), institution_id=registered.pk),
            photos=[SimpleUploadedFile("a.jpg", image_bytes(), "image/jpeg")],
        )  # fmt: skip
    photo = c.photos.get()
    html = signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert f'href="/complaints/{c.pk}/photos/{photo.pk}"' in html
    assert f'src="/complaints/{c.pk}/photos/{photo.pk}?size=thumb"' in html
    assert signed_in(staff_a).get(f"/complaints/{c.pk}/photos/{photo.pk}?size=thumb").status_code == 200


def test_open_an_inspection_from_a_substantiated_complaint(parent, staff_a, registered, routed):
    inspectors = [make_user(f"督查{i}", Role.INSPECTOR, region=region(TOWN_A)) for i in range(2)]
    c = services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)
    c = services.complaint_conclude(actor=staff_a, complaint_id=c.pk, outcome="substantiated", answer=ANSWER)
    page = signed_in(staff_a).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert 'data-testid="action-open-inspection"' in page
    response = signed_in(staff_a).post(
        f"/desk/complaints/{c.pk}/inspection", {"inspector_ids": [str(u.pk) for u in inspectors]}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert fresh(c).inspection_id is not None


# --- The board and the templates --------------------------------------------------------------------------------------


def test_the_board_for_supervisors_with_links_and_an_xlsx(parent, staff_a, supervisor, registered, routed):
    c = services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)
    services.complaint_conclude(actor=staff_a, complaint_id=c.pk, outcome="substantiated", answer=ANSWER)
    late = filed(parent, registered)
    Complaint.objects.filter(pk=late.pk).update(sla_due_on=timezone.localdate() - timedelta(days=2))
    assert signed_in(staff_a).get("/desk/board/").status_code == 404
    assert signed_in(parent).get("/desk/board/").status_code == 404
    html = signed_in(supervisor).get("/desk/board/").content.decode()
    row = html[html.index(f'data-testid="board-town-{registered.town_id}"'):]
    assert re.search(r'data-testid="fig-received">2<', row)
    assert re.search(r'data-testid="fig-on-time">100.0%<', row)
    assert re.search(r'data-testid="fig-overdue" class="bad">1<', row)
    link = re.search(r'href="([^"]+)" data-testid="fig-overdue"', row).group(1).replace("&amp;", "&")
    listed = signed_in(supervisor).get(link).content.decode()
    assert f"row-{late.pk}" in listed and f"row-{c.pk}" not in listed
    handler_row = html[html.index(f'data-testid="board-handler-{staff_a.pk}"'):]
    assert re.search(r'data-testid="fig-received">2<', handler_row)
    response = signed_in(supervisor).get("/desk/board.xlsx?days=30")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["镇街", "承办人"]
    rows = list(book["镇街"].values)
    assert rows[0][0] == "镇街" and rows[1][1] == 2
    assert signed_in(staff_a).get("/desk/board.xlsx").status_code == 404


def test_answer_templates_are_edited_by_supervisors(staff_a, supervisor):
    assert signed_in(staff_a).get("/desk/templates/").status_code == 404
    client = signed_in(supervisor)
    response = client.post("/desk/templates/", {"title": "不属实", "body": "太短", "outcome": "not_substantiated"})
    assert response.status_code == 422 and "模板内容须为" in response.content.decode()
    response = client.post(
        "/desk/templates/", {"title": "不属实", "body": ANSWER, "outcome": "not_substantiated", "is_active": "on"}
    )
    assert response.status_code == 302
    template = AnswerTemplate.objects.get()
    response = client.post(
        "/desk/templates/", {"template_id": template.pk, "title": "不属实（改）", "body": ANSWER, "outcome": ""}
    )
    template.refresh_from_db()
    assert template.title == "不属实（改）" and template.is_active is False
    assert AuditEvent.objects.filter(verb="answer_template.save").count() == 2
    assert "不属实（改）" in client.get(f"/desk/templates/?edit={template.pk}").content.decode()


# --- Query counts ----------------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more(n, parent, institution, staff):
    from tests.factories import ComplaintFactory

    for i in range(n):
        ComplaintFactory(parent=parent, institution=institution, handler=staff if i % 2 else None,
                         sla_due_on=timezone.localdate() + timedelta(days=i % 5))  # fmt: skip


def test_the_queue_costs_the_same_queries_for_5_or_50_rows(parent, staff_a, supervisor, registered, routed,
                                                           django_assert_max_num_queries):  # fmt: skip
    _more(5, parent, registered, staff_a)
    client = signed_in(supervisor)
    client.get("/desk/")  # the per-process tables (categories, regions) are read once
    small = _queries(client, "/desk/")
    _more(60, parent, registered, staff_a)
    with django_assert_max_num_queries(small):
        assert client.get("/desk/").status_code == 200
    assert small <= 13


def test_a_complaint_page_and_the_board_cost_a_bounded_number_of_queries(
    parent, staff_a, supervisor, registered, registered_b, routed, django_assert_max_num_queries
):
    c = services.complaint_take(actor=staff_a, complaint_id=filed(parent, registered).pk)
    client = signed_in(supervisor)
    page = _queries(client, f"/desk/complaints/{c.pk}/")
    board = _queries(client, "/desk/board/")
    for _ in range(3):
        services.complaint_message_post(actor=staff_a, complaint_id=c.pk, body="请补充材料")
    _more(30, parent, registered, staff_a)
    _more(30, parent, registered_b, None)
    with django_assert_max_num_queries(page):
        client.get(f"/desk/complaints/{c.pk}/")
    with django_assert_max_num_queries(board):
        client.get("/desk/board/")
    assert board <= 10


def test_the_queue_kept_a_few_seconds_is_never_stale_after_a_change(parent, staff_a, registered, routed, settings,
                                                                     django_capture_on_commit_callbacks):  # fmt: skip
    settings.COMPLAINT_LIST_CACHE_SECONDS = 30
    c = filed(parent, registered)
    client = signed_in(staff_a)
    assert f"row-{c.pk}" in client.get("/desk/?state=submitted").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_take(actor=staff_a, complaint_id=c.pk)
    assert f"row-{c.pk}" not in client.get("/desk/?state=submitted").content.decode()


def test_staff_opening_a_complaints_parent_page_land_on_the_desk(parent, staff_a, staff_b, registered, routed):
    c = filed(parent, registered)
    response = signed_in(staff_a).get(f"/complaints/{c.pk}/")
    assert response.status_code == 302 and response.url == f"/desk/complaints/{c.pk}/"
    assert signed_in(staff_b).get(f"/complaints/{c.pk}/").status_code == 404  # not theirs: still nothing
    assert signed_in(parent).get(f"/complaints/{c.pk}/").status_code == 200  # the parent keeps their page


def test_a_kept_queue_shows_a_new_complaint_at_once_and_still_says_what_was_done(
    parent, staff_a, registered, routed, settings, django_capture_on_commit_callbacks
):
    settings.COMPLAINT_LIST_CACHE_SECONDS = 10  # as in production: the queue's rows and markup kept per process
    from supervision.complaints import cache as complaint_cache

    complaint_cache.clear()
    client = signed_in(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        first = filed(parent, registered)
    assert first.tracking_number in client.get("/desk/").content.decode()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/desk/").status_code == 200
    assert not any("supervision_complaint" in q["sql"] for q in ctx.captured_queries)  # kept
    with django_capture_on_commit_callbacks(execute=True):
        second = filed(parent, registered, description="机构在周末集中上学科类课程，孩子很累，请核查。")
    page = client.get("/desk/?done=take").content.decode()
    assert second.tracking_number in page and first.tracking_number in page
    assert 'data-testid="done"' in page and 'data-testid="done"' not in client.get("/desk/").content.decode()


def test_a_kept_complaint_page_shows_a_parent_message_at_once_and_its_forms_work(
    parent, staff_a, registered, routed, settings, django_capture_on_commit_callbacks
):
    settings.COMPLAINT_LIST_CACHE_SECONDS = 10  # as in production: the page's markup kept per process
    from supervision.complaints import cache as complaint_cache

    complaint_cache.clear()
    c = filed(parent, registered)
    client = Client(enforce_csrf_checks=True)  # the kept markup's form tokens must be this browser's
    client.force_login(staff_a)
    with CaptureQueriesContext(connection) as first:
        page = client.get(f"/desk/complaints/{c.pk}/").content.decode()
    with CaptureQueriesContext(connection) as kept:
        again = client.get(f"/desk/complaints/{c.pk}/").content.decode()
    assert len(kept.captured_queries) <= len(first.captured_queries) - 5  # only who asks and may they see it
    assert again.count("csrfmiddlewaretoken") == page.count("csrfmiddlewaretoken") > 0
    assert "csrf-token-stand-in" not in again
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_message_post(actor=parent, complaint_id=c.pk, body="补充：机构负责人电话一直打不通。")
    assert "机构负责人电话一直打不通" in client.get(f"/desk/complaints/{c.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', again).group(1)
    response = client.post(f"/desk/complaints/{c.pk}/take", {"version": c.version, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and fresh(c).handler == staff_a
    assert "已签收" in client.get(response["Location"]).content.decode()


def test_a_kept_complaint_page_costs_no_complaint_query_and_is_still_only_theirs(
    parent, staff_a, staff_b, registered, routed, settings, django_capture_on_commit_callbacks
):
    settings.COMPLAINT_LIST_CACHE_SECONDS = 10  # as in production
    from supervision.complaints import cache as complaint_cache

    complaint_cache.clear()
    c = filed(parent, registered)
    mine = signed_in(staff_a)
    assert mine.get(f"/desk/complaints/{c.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as kept:
        assert mine.get(f"/desk/complaints/{c.pk}/").status_code == 200
    assert not any("supervision_complaint" in q["sql"] for q in kept.captured_queries)  # access check kept with it
    # Another town's handler asks for the same page while it is kept: the same 404 as ever, and nothing kept for it.
    other = signed_in(staff_b)
    assert other.get(f"/desk/complaints/{c.pk}/").status_code == 404
    assert other.get(f"/desk/complaints/{c.pk}/").status_code == 404
    # Taken through the services (as the API or another process would): the kept page shows it at once.
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_take(actor=staff_a, complaint_id=c.pk)
    assert 'data-testid="action-accept"' not in mine.get(f"/desk/complaints/{c.pk}/").content.decode()
