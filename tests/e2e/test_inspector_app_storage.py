# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""The phone's storage full (issue 20, bad input): a write to IndexedDB refused with QuotaExceededError. The app says
so in plain words, next to what was tapped; nothing is dropped silently: the form keeps what was typed, the outbox keeps
what it held, and the same tap once there is room saves the record once, which then arrives once."""

from __future__ import annotations

import pytest

from supervision.models import ChecklistAnswer, Finding, InspectionPhoto, VisitRecord
from tests.e2e.test_inspector_app import all_sent, due_today, jpeg, phone, sign_in
from tests.supervision.inspection_fixtures import premises, team, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The next N writes to the outbox's records store fail as a full disk does (window.__sjQuotaFull = N).
QUOTA_FULL = """
(() => {
  window.__sjQuotaFull = 0;
  const guard = (original) => function (...args) {
    if (this.name === "records" && window.__sjQuotaFull > 0) {
      window.__sjQuotaFull -= 1;
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    return original.apply(this, args);
  };
  IDBObjectStore.prototype.put = guard(IDBObjectStore.prototype.put);
  IDBObjectStore.prototype.add = guard(IDBObjectStore.prototype.add);
})();
"""

OUTBOX_SIZE = "() => SJ.db.records.count()"


def test_storage_full_says_so_keeps_the_input_and_the_retry_is_queued_once(browser, live_server, visit, team):
    due_today(visit)
    context = phone(browser)
    context.add_init_script(QUOTA_FULL)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.click()
        context.set_offline(True)
        page.locator('[data-testid=item][data-code="LIC-1"]').get_by_test_id("answer-yes").click()
        page.get_by_test_id("pending-line").filter(has_text="1 条待上传").wait_for()

        # A finding typed in full, then the disk is full when it is saved.
        page.get_by_test_id("finding-item").select_option("PUB-1")
        page.get_by_test_id("finding-severity").select_option("high")
        page.get_by_test_id("finding-description").fill("消防通道堆放杂物")
        page.evaluate("() => { window.__sjQuotaFull = 1; }")
        page.get_by_test_id("finding-add").click()
        notice = page.get_by_test_id("findings").get_by_test_id("storage-full")
        notice.wait_for()
        assert "存储空间已满" in notice.inner_text() and "不会丢失" in notice.inner_text()
        assert "存储空间已满" in page.get_by_test_id("banner-error").inner_text()
        assert page.get_by_test_id("finding-description").input_value() == "消防通道堆放杂物"  # kept for the retry
        assert page.get_by_test_id("finding-severity").input_value() == "high"
        assert page.get_by_test_id("finding").count() == 0
        assert page.evaluate(OUTBOX_SIZE) == 1  # the earlier answer is still there, nothing half-written
        assert page.get_by_test_id("pending-line").inner_text().startswith("1 条待上传")

        # Space freed: the same tap saves it, once.
        page.get_by_test_id("finding-add").click()
        page.get_by_test_id("finding").wait_for()
        page.get_by_test_id("pending-line").filter(has_text="2 条待上传").wait_for()
        assert page.get_by_test_id("storage-full").count() == 0
        assert page.get_by_test_id("banner-error").is_hidden()

        # An answer tapped on a full disk: said beside the buttons, the item stays unanswered until tapped again.
        item = page.locator('[data-testid=item][data-code="LIC-2"]')
        page.evaluate("() => { window.__sjQuotaFull = 1; }")
        item.get_by_test_id("answer-no").click()
        item.get_by_test_id("storage-full").wait_for()
        assert item.get_attribute("data-done") == "0"
        assert page.evaluate(OUTBOX_SIZE) == 2
        item.get_by_test_id("answer-no").click()
        page.locator('[data-testid=item][data-code="LIC-2"][data-done="1"]').wait_for()
        page.get_by_test_id("pending-line").filter(has_text="3 条待上传").wait_for()

        # Photos taken on a full disk: the answer naming them is not saved, so neither are they (no orphan uploads);
        # the same pictures chosen again once there is room.
        photo_item = page.locator("[data-testid=item]:has([data-testid=photo-input])").first
        shot = [{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": jpeg((200, 30, 30))}]
        page.evaluate("() => { window.__sjQuotaFull = 1; }")
        photo_item.get_by_test_id("photo-input").set_input_files(shot)
        photo_item.get_by_test_id("storage-full").wait_for()
        assert page.evaluate("() => SJ.db.photos.count()") == 0
        photo_item.get_by_test_id("photo-input").set_input_files(shot)
        page.get_by_test_id("pending-line").filter(has_text="5 条待上传").wait_for()  # 4 records and the photo

        context.set_offline(False)
        all_sent(page)
        page.get_by_test_id("sync-button").click()  # sent again by hand: nothing new arrives
        all_sent(page)
    finally:
        context.close()
    assert VisitRecord.objects.filter(inspection=visit).count() == 4
    assert InspectionPhoto.objects.filter(inspection=visit).count() == 1
    assert list(Finding.objects.filter(inspection=visit).values_list("description", "severity")) == [
        ("消防通道堆放杂物", "high")
    ]
    answers = dict(ChecklistAnswer.objects.filter(inspection=visit).values_list("item__code", "value"))
    assert answers["LIC-1"] == "yes" and answers["LIC-2"] == "no" and len(answers) == 3
