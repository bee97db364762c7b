# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Checklists are versioned: the demo checklist comes from the CSV, editing makes a new version, a visit keeps the
version it was drawn with (an answer for an item only in the new version is refused for it)."""

from __future__ import annotations

import pytest

from supervision.inspections import sync
from supervision.models import ChecklistItem, ChecklistVersion
from tests.conftest import assert_error
from tests.supervision.inspection_fixtures import premises, record, team, visit  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_training_checklist_is_loaded_from_the_csv(api_as, team):
    body = api_as(team[0]).get("checklists/training_institution").json()
    assert body["number"] == 1 and len(body["items"]) == 24
    lic = next(i for i in body["items"] if i["code"] == "LIC-1")
    assert lic["rule_id"] == "R-ID-1" and lic["severity"] == "high" and lic["public"] is True
    assert {i["answer_type"] for i in body["items"]} == {"yes_no_na", "number", "photo"}
    assert ChecklistItem.objects.filter(public=False).count() == 8


def test_editing_makes_a_new_version_and_a_visit_keeps_its_own(api_as, visit, team, bureau_staff):
    current = api_as(bureau_staff).get("checklists/training_institution").json()
    items = current["items"] + [
        {"code": "NEW-1", "question_zh": "是否有新增检查内容", "question_en": "A new item", "answer_type": "yes_no_na"}
    ]
    r = api_as(bureau_staff).post("checklists/training_institution/versions", {"items": items, "note": "新增一项"})
    assert r.status_code == 201, r.content
    assert r.json()["number"] == 2 and len(r.json()["items"]) == 25
    assert ChecklistVersion.objects.count() == 2
    assert ChecklistItem.objects.filter(version__number=1).count() == 24  # the old version is untouched
    [fate] = sync.sync_batch(actor=team[0], records=[record(visit, "answer", {"item_code": "NEW-1", "value": "yes"})])
    assert fate["code"] == "sync.unknown_item"  # the visit was drawn on version 1
    assert_error(api_as(team[0]).post("checklists/training_institution/versions", {"items": items}), 403)
    duplicate = items + [items[0]]
    assert_error(api_as(bureau_staff).post("checklists/training_institution/versions", {"items": duplicate}), 422)
