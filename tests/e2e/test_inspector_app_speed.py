# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""The inspectors' app on a slow phone network (issue 20), measured in Chromium and printed (`-s` to see it):
- the first load (the shell, its scripts, styles and icons) is at most 200 KB compressed;
- once installed, a visit's page is usable in under 2 s from the cache at 400 kbit/s and 400 ms latency;
- a visit of 30 records and 5 photos of about 3 MB each (shrunk on the phone) syncs in the time printed (a mobile
  profile of 8 Mbit/s down, 4 Mbit/s up, 100 ms: a fair 4G signal; the bytes sent are printed too, to scale to a
  slower uplink)."""

from __future__ import annotations

import gzip
import io
import random
import time

import pytest
from django.utils import timezone
from PIL import Image

from supervision.models import Inspection, InspectionPhoto, VisitRecord
from tests.e2e.test_inspector_app import all_sent, phone, sign_in
from tests.supervision.inspection_fixtures import premises, team, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BUDGET = 200 * 1024
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
MOBILE = {"offline": False, "latency": 100, "downloadThroughput": 8_000_000 / 8, "uploadThroughput": 4_000_000 / 8}


def camera_photo(seed: int) -> bytes:
    """About 3 MB: a 12 MP picture with some detail, as a phone's camera saves it."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (320, 240), bytes(rng.getrandbits(8) for _ in range(320 * 240 * 3)))
    out = io.BytesIO()
    small.resize((4000, 3000), Image.BICUBIC).save(out, "JPEG", quality=92)
    return out.getvalue()


def test_first_load_weight_a_cached_visit_page_on_a_slow_network_and_a_big_sync(browser, live_server, visit, team):
    Inspection.objects.filter(pk=visit.pk).update(due_by=timezone.localdate())
    context = phone(browser)
    figures = {}
    try:
        page = context.new_page()
        answers = []
        page.on("response", lambda answer: answers.append(answer))
        page.goto(f"{live_server.url}/app/inspector/", wait_until="networkidle")
        first = [a for a in answers if a.status == 200]
        figures["first load"] = sum(len(gzip.compress(a.body(), 9)) for a in first)
        assert figures["first load"] <= BUDGET, [(a.url, len(a.body())) for a in first]

        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.wait_for()
        page.close()
        page = context.new_page()  # the app opened again, from the home screen, on a slow network
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        started = time.monotonic()
        page.goto(f"{live_server.url}/app/inspector/#/visit/{visit.pk}", wait_until="commit")
        page.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").wait_for()
        figures["visit page from the cache at 400 kbit/s (s)"] = round(time.monotonic() - started, 2)
        assert figures["visit page from the cache at 400 kbit/s (s)"] < 2

        # 30 records and 5 photos recorded offline, then sent on a mobile network.
        cdp.send("Network.emulateNetworkConditions", {**SLOW, "offline": True})
        context.set_offline(True)
        page.get_by_test_id("checkin-gps").click()
        page.get_by_test_id("checkin-status").filter(has_text="已签到").wait_for()
        items = page.get_by_test_id("item")
        for i in range(items.count()):
            item = items.nth(i)
            code = item.get_attribute("data-code")
            if item.get_by_test_id("answer-yes").count():
                item.get_by_test_id("answer-no" if code == "PUB-1" else "answer-yes").click()
            elif item.get_by_test_id("answer-input").count():
                item.get_by_test_id("answer-input").fill("8")
                item.get_by_test_id("answer-save").click()
            else:
                taken = camera_photo(1)  # five shots of one scene: five photos, each sent and stored under its UUID
                photos = [{"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": taken} for n in range(5)]
                figures["photos taken (MB)"] = round(sum(len(p["buffer"]) for p in photos) / 1e6, 1)
                item.get_by_test_id("photo-input").set_input_files(photos)
            page.locator(f'[data-testid=item][data-code="{code}"][data-done="1"]').wait_for(timeout=30_000)
        for text in ("负责人在场", "已告知整改要求"):
            page.get_by_test_id("note-text").fill(text)
            page.get_by_test_id("note-add").click()
            page.locator("li", has_text=text).wait_for()
        page.get_by_test_id("finding-item").select_option("PUB-1")
        page.get_by_test_id("finding-description").fill("前台未公示收费项目和标准")
        page.get_by_test_id("finding-add").click()
        page.get_by_test_id("finding").wait_for()
        page.get_by_test_id("ack-name").fill("王校长")
        page.get_by_test_id("ack-save").click()
        page.get_by_test_id("ack-status").wait_for()
        page.get_by_test_id("checkout").click()
        page.get_by_test_id("checkout-status").wait_for()
        page.get_by_test_id("pending-line").filter(has_text="35 条待上传").wait_for()  # 30 records, 5 photos
        queued = page.evaluate("() => SJ.db.photos.toArray().then((ps) => ps.reduce((n, p) => n + p.size, 0))")
        figures["photos queued after shrinking (MB)"] = round(queued / 1e6, 2)

        cdp.send("Network.emulateNetworkConditions", MOBILE)
        started = time.monotonic()
        context.set_offline(False)
        all_sent(page, timeout=60_000)
        figures["sync of 30 records + 5 photos on 4 Mbit/s up (s)"] = round(time.monotonic() - started, 1)
    finally:
        context.close()
        print({k: (f"{v / 1024:.1f} KB" if k == "first load" else v) for k, v in figures.items()})
    assert VisitRecord.objects.filter(inspection=visit).count() == 30
    assert InspectionPhoto.objects.filter(inspection=visit, received=True).count() == 5
    assert Inspection.objects.get(pk=visit.pk).status == "complete"
