# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""The inspectors' phone app in Chromium (inspector_app): installed by its service worker, it opens and works with the
network cut, keeps every action in its IndexedDB outbox and sends it when the network returns, each record arriving
once; photos shrunk on the phone and retried after a cut; two phones on one answer see the conflict."""

from __future__ import annotations

import io
import time

import pytest
from django.utils import timezone
from PIL import Image

from supervision.models import ChecklistAnswer, Finding, Inspection, InspectionPhoto, VisitRecord
from tests.conftest import PASSWORD
from tests.supervision.inspection_fixtures import NEARBY, premises, team, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
GPS = {"latitude": NEARBY[0], "longitude": NEARBY[1], "accuracy": 12}


def phone(browser, **extra):
    context = browser.new_context(
        locale="zh-CN",
        viewport=PHONE,
        geolocation=GPS,
        permissions=["geolocation"],
        service_workers="allow",
        **extra,
    )
    context.set_default_timeout(15_000)
    return context


def sign_in(page, base_url, user, app="inspector"):
    page.goto(f"{base_url}/app/{app}/")
    page.locator("#sj-login").fill(user.username)
    page.locator("#sj-password").fill(PASSWORD)
    page.get_by_test_id("sign-in-button").click()
    page.get_by_test_id("sign-in").wait_for(state="detached")
    # Installed: the service worker controls the page (it claims it on activation).
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")


def all_sent(page, timeout=30_000):
    page.wait_for_function(
        "() => document.getElementById('pending-text').textContent.includes('全部已上传')"
        " && !document.getElementById('sync-state').textContent.includes('正在同步')",
        timeout=timeout,
    )


def wait_until(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def jpeg(color, size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


def due_today(visit):
    Inspection.objects.filter(pk=visit.pk).update(due_by=timezone.localdate())


def test_the_app_opens_with_the_network_cut_showing_todays_visits(browser, live_server, visit, team):
    due_today(visit)
    context = phone(browser)
    try:
        page = context.new_page()
        violations = []
        page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
        sign_in(page, live_server.url, team[0])
        card = page.get_by_test_id("visits-today").get_by_test_id("visit-card")
        card.wait_for()
        assert "敦仁美术培训学校" in card.inner_text()
        assert "督查员甲" in card.inner_text()  # the team
        assert page.locator('link[rel="manifest"]').count() == 1

        context.set_offline(True)
        page.reload()
        page.get_by_test_id("banner-offline").wait_for()
        card = page.get_by_test_id("visits-today").get_by_test_id("visit-card")
        assert "敦仁美术培训学校" in card.inner_text()
        card.click()
        page.get_by_test_id("visit-title").wait_for()
        assert page.get_by_test_id("item").count() == 24
        page.goto(f"{live_server.url}/app/inspector/#/map")  # another page of the app, offline
        page.get_by_test_id("map").wait_for()
        assert page.locator(".leaflet-interactive").count() >= 1  # the visit as a point, no tiles
        assert page.locator(".leaflet-tile").count() == 0
        assert violations == []
    finally:
        context.close()


def answer_everything(page):
    items = page.get_by_test_id("item")
    for i in range(items.count()):
        item = items.nth(i)
        code = item.get_attribute("data-code")
        if item.get_by_test_id("answer-yes").count():
            item.get_by_test_id("answer-yes").click()
        elif item.get_by_test_id("answer-input").count():
            item.get_by_test_id("answer-input").fill("12")
            item.get_by_test_id("answer-save").click()
        else:
            files = [
                {"name": f"p{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg((40 * n, 90, 200))} for n in (1, 2, 3)
            ]
            item.get_by_test_id("photo-input").set_input_files(files)
        page.locator(f'[data-testid=item][data-code="{code}"][data-done="1"]').wait_for()


def test_a_whole_visit_offline_arrives_once_when_the_network_returns(browser, live_server, visit, team):
    due_today(visit)
    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.wait_for()
        context.set_offline(True)

        page.get_by_test_id("visit-card").first.click()
        page.get_by_test_id("checkin-gps").click()
        page.get_by_test_id("checkin-status").filter(has_text="已签到").wait_for()
        assert "距机构" in page.get_by_test_id("checkin-status").inner_text()
        answer_everything(page)
        page.get_by_test_id("answered-count").filter(has_text="24/24").wait_for()
        page.get_by_test_id("finding-item").select_option("PUB-1")
        page.get_by_test_id("finding-severity").select_option("high")
        page.get_by_test_id("finding-description").fill("前台未公示收费项目和标准")
        page.get_by_test_id("finding-add").click()
        page.get_by_test_id("finding").wait_for()
        page.get_by_test_id("ack-name").fill("王校长")
        page.get_by_test_id("ack-save").click()
        page.get_by_test_id("ack-status").wait_for()
        page.get_by_test_id("checkout").click()
        page.get_by_test_id("checkout-status").wait_for()
        # 1 check-in + 24 answers + 1 finding + 1 acknowledgement + 1 check-out, and 3 photos
        assert page.get_by_test_id("pending-line").inner_text().startswith("31 条待上传")
        assert VisitRecord.objects.count() == 0
        page.close()

        again = context.new_page()  # the app closed and opened again, still offline
        again.goto(f"{live_server.url}/app/inspector/#/outbox")
        again.get_by_test_id("outbox-count").filter(has_text="31 条待上传").wait_for()
        assert again.locator('[data-testid=record][data-state="pending"]').count() == 28

        context.set_offline(False)  # the browser says "online": the outbox goes
        all_sent(again)
        again.get_by_test_id("sync-button").click()  # sent once more by hand: nothing new arrives
        all_sent(again)
    finally:
        context.close()
    v = Inspection.objects.get(pk=visit.pk)
    assert v.status == "complete" and v.acknowledged_by == "王校长" and not v.checkin_flagged
    assert VisitRecord.objects.filter(inspection=v).count() == 28
    assert ChecklistAnswer.objects.filter(inspection=v).count() == 24
    assert Finding.objects.filter(inspection=v).count() == 1
    assert InspectionPhoto.objects.filter(inspection=v, received=True).count() == 3
    assert all(p.size < 400_000 for p in InspectionPhoto.objects.all())  # shrunk on the phone


def test_a_photo_upload_cut_midway_is_retried_and_stored_once(browser, live_server, visit, team):
    due_today(visit)
    context = phone(browser)
    cut = {"n": 0}

    def cut_first(route):
        if cut["n"] == 0:
            cut["n"] += 1
            route.fetch()  # the server receives it all ...
            route.abort("connectionreset")  # ... and the answer is lost on the way back
        else:
            route.continue_()

    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        page.route("**/api/v1/inspections/*/photos/*", cut_first)
        item = page.locator("[data-testid=item]:has([data-testid=photo-input])")
        item.get_by_test_id("photo-input").set_input_files(
            [{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": jpeg((200, 30, 30))}]
        )
        deadline = time.monotonic() + 20
        while cut["n"] == 0 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert cut["n"] == 1
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()  # the photo waits
        page.get_by_test_id("sync-button").click()
        all_sent(page)
        page.goto(f"{live_server.url}/app/inspector/#/outbox")
        page.locator('[data-testid=photo-record][data-state="stored"]').wait_for()
        assert page.locator('[data-testid=photo-record][data-state="stored"]').count() == 1
    finally:
        context.close()
    assert InspectionPhoto.objects.filter(received=True).count() == 1
    assert InspectionPhoto.objects.count() == 1


def test_a_photo_the_server_refuses_is_shown_on_its_record_and_the_rest_goes_on(browser, live_server, visit, team):
    due_today(visit)
    context = phone(browser)
    refused = {"n": 0}

    def refuse_first(route):
        if refused["n"] == 0:
            refused["n"] += 1
            route.fulfill(
                status=415,
                content_type="application/json",
                body='{"error": {"code": "upload.bad_type", "message": "不支持的图片格式", "fields": {}}}',
            )
        else:
            route.continue_()

    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        page.route("**/api/v1/inspections/*/photos/*", refuse_first)
        files = [{"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg((90, 30 * n, 30))} for n in (1, 2)]
        page.locator("[data-testid=item]:has([data-testid=photo-input])").get_by_test_id("photo-input").set_input_files(
            files
        )
        page.get_by_test_id("pending-line").filter(has_text="条待上传").wait_for()
        all_sent(page)
        page.goto(f"{live_server.url}/app/inspector/#/outbox")
        refused_row = page.locator('[data-testid=photo-record][data-state="rejected"]')
        refused_row.wait_for()
        assert refused_row.count() == 1 and "不支持的图片格式" in refused_row.inner_text()
        page.locator('[data-testid=photo-record][data-state="stored"]').wait_for()
        assert page.locator('[data-testid=photo-record][data-state="stored"]').count() == 1
        assert page.locator('[data-testid=record][data-state="applied"]').count() == 1  # the answer itself
    finally:
        context.close()
    assert InspectionPhoto.objects.filter(received=True).count() == 1


def test_two_phones_answering_one_item_show_the_conflict_on_the_second(browser, live_server, visit, team):
    due_today(visit)
    first, second = phone(browser), phone(browser)
    try:
        a, b = first.new_page(), second.new_page()
        sign_in(a, live_server.url, team[0])
        sign_in(b, live_server.url, team[1])
        for p in (a, b):
            p.get_by_test_id("visit-card").first.click()
            p.get_by_test_id("visit-title").wait_for()
        a.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").click()
        wait_until(lambda: ChecklistAnswer.objects.filter(inspection=visit, item__code="LIC-1").exists())
        b.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-no").click()
        conflict = b.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("conflict")
        conflict.wait_for(timeout=20_000)
        assert conflict.get_by_test_id("conflict-mine").inner_text() == "否"
        assert conflict.get_by_test_id("conflict-server").inner_text() == "是"
        b.goto(f"{live_server.url}/app/inspector/#/outbox")
        b.locator('[data-testid=record][data-state="conflict"]').wait_for()
        assert b.locator('[data-testid=record][data-state="conflict"]').count() == 1
    finally:
        first.close()
        second.close()
    answer = ChecklistAnswer.objects.get(inspection=visit, item__code="LIC-1")
    assert answer.value == "yes" and answer.version == 1  # nothing overwritten
    assert VisitRecord.objects.filter(state="conflict").count() == 1



# --- Teachers' roll call, on the same outbox ------------------------------------------------------------------------


def test_a_roll_call_taken_offline_and_sent_twice_leaves_one_row_per_child(browser, live_server):
    import time_machine

    from accounts.models import Role
    from afterschool.schedule.models import Attendance
    from tests.afterschool.conftest import NOW, enrol, make_programme, make_session, make_student
    from tests.conftest import make_user
    from tests.e2e.conftest import school_and_admin
    from tests.factories import SchoolClassFactory, TermFactory

    with time_machine.travel(NOW, tick=True):  # a Wednesday of the autumn term, on the server
        school, _admin = school_and_admin()
        teacher = make_user("王老师", Role.TEACHER, school=school)
        klass = SchoolClassFactory(school=school, grade=3, number=1, class_teacher=teacher)
        programme = make_programme(TermFactory(school=school), "阅读社")
        make_session(programme, teacher, weekday=2)
        children = [make_student(school, klass, name) for name in ("张小明", "李小红", "王小刚")]
        for child in children:
            enrol(child, programme)
        context = phone(browser)
        try:
            page = context.new_page()
            sign_in(page, live_server.url, teacher, app="rollcall")
            page.get_by_test_id("child").nth(2).wait_for()
            context.set_offline(True)
            for child, mark in zip(children, ("present", "absent", "leave"), strict=True):
                page.locator(f'[data-testid=child][data-student="{child.pk}"]').get_by_test_id(f"mark-{mark}").click()
                page.locator(f'[data-testid=child][data-student="{child.pk}"][data-mark="{mark}"]').wait_for()
            page.get_by_test_id("pending-line").filter(has_text="3 条待上传").wait_for()
            assert Attendance.objects.count() == 0
            context.set_offline(False)
            all_sent(page)
            # Sent again (a lost answer, a second phone's copy of the outbox): the server keeps one row per child.
            page.evaluate("() => SJ.db.records.toCollection().modify({state: 'pending'}).then(() => SJ.changed())")
            page.get_by_test_id("pending-line").filter(has_text="3 条待上传").wait_for()
            page.get_by_test_id("sync-button").click()
            all_sent(page)
            page.goto(f"{live_server.url}/app/rollcall/#/outbox")
            page.locator('[data-testid=record][data-state="already_applied"]').nth(2).wait_for()
            assert page.locator('[data-testid=record][data-state="already_applied"]').count() == 3
        finally:
            context.close()
        marks = dict(Attendance.objects.values_list("student__name", "mark"))
        assert marks == {"张小明": "present", "李小红": "absent", "王小刚": "leave"}


# --- Sessions ending: signed out elsewhere keeps the unsent work; a lost phone cut off by the bureau wipes it ---------


def test_a_revoked_session_keeps_unsent_records_and_a_lost_phone_is_wiped(browser, live_server, visit, team):
    from accounts.models import AuthSession, Role
    from accounts.services import auth_logout, auth_revoke_user_sessions
    from tests.conftest import DISTRICT, make_user, region

    due_today(visit)
    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        context.set_offline(True)
        page.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").click()
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()
        # Signed out from another device while this phone was offline.
        auth_logout(actor=team[0], session=AuthSession.objects.get(user=team[0]))
        context.set_offline(False)
        page.get_by_test_id("revoked-notice").wait_for()
        assert "1 条未上传" in page.get_by_test_id("kept-notice").inner_text()
        page.locator("#sj-login").fill(team[0].username)
        page.locator("#sj-password").fill(PASSWORD)
        page.get_by_test_id("sign-in-button").click()
        all_sent(page)
        wait_until(lambda: ChecklistAnswer.objects.filter(inspection=visit, item__code="LIC-1").exists())
        assert ChecklistAnswer.objects.filter(inspection=visit, item__code="LIC-1", value="yes").count() == 1

        # The phone is lost: the bureau cuts every session of its owner. At its next contact it wipes its data.
        page.goto(f"{live_server.url}/app/inspector/#/visit/{visit.pk}")
        context.set_offline(True)
        page.locator('[data-testid=item][data-code="LIC-2"]').get_by_test_id("answer-no").click()
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()
        admin = make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))
        auth_revoke_user_sessions(actor=admin, user=team[0])
        context.set_offline(False)
        page.get_by_test_id("wiped-notice").wait_for()
        assert page.evaluate("() => Promise.all([SJ.db.records.count(), SJ.db.visits.count(), SJ.db.kv.count()])") == [
            0,
            0,
            0,
        ]
        assert page.get_by_test_id("kept-notice").count() == 0
    finally:
        context.close()
    assert not ChecklistAnswer.objects.filter(inspection=visit, item__code="LIC-2").exists()


# --- A new version: announced, taken between visits only -----------------------------------------------------------


def test_a_new_version_is_announced_and_taken_only_between_visits(browser, live_server, visit, team, monkeypatch):
    from inspector_app import views

    due_today(visit)
    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        page.get_by_test_id("checkin-gps").click()
        page.get_by_test_id("checkin-status").filter(has_text="已签到").wait_for()
        monkeypatch.setattr(views, "app_version", lambda: "0123456789ab")  # a release
        page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
        page.get_by_test_id("banner-update").filter(has_text="新版本可用").wait_for()
        said = []
        page.on("dialog", lambda d: (said.append(d.message), d.accept()))
        page.get_by_test_id("update-button").click()  # mid-visit: not now
        page.wait_for_timeout(300)
        assert said == ["正在检查中：签退后再更新。"]
        page.get_by_test_id("checkout").click()  # items are missing: the phone asks first (accepted)
        page.get_by_test_id("checkout-status").wait_for()
        with page.expect_navigation():
            page.get_by_test_id("update-button").click()
        page.get_by_test_id("app-main").wait_for()
        version = page.evaluate(
            """() => new Promise((resolve) => {
                const channel = new MessageChannel();
                channel.port1.onmessage = (event) => resolve(event.data);
                navigator.serviceWorker.controller.postMessage({type: "VERSION"}, [channel.port2]);
            })"""
        )
        assert version == "0123456789ab"
    finally:
        context.close()
