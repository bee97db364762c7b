"""The admin shows inspections to read; nothing is changed there (the services audit every change)."""

import pytest

from supervision.inspections import checklists
from tests.supervision.inspection_fixtures import ensure_checklist

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["checklistversion", "inspectionplan", "inspection", "rectificationorder", "penaltydecision"]
)
def test_the_admin_lists_inspections_read_only(admin_client, path):
    ensure_checklist()
    assert admin_client.get(f"/admin/supervision/{path}/").status_code == 200
    assert admin_client.get(f"/admin/supervision/{path}/add/").status_code == 403


def test_a_checklist_version_page_shows_its_items(admin_client):
    ensure_checklist()
    version = checklists.current_checklist()
    page = admin_client.get(f"/admin/supervision/checklistversion/{version.pk}/change/")
    assert page.status_code == 200 and "LIC-1" in page.content.decode()
