"""An institution's accounts on its console page (/console/institutions/<id>/) and over the API: the bureau of its
town adds an existing account by phone and removes one, each with a reason, audited on the institution's timeline;
another town's institution answers 404; bad input is told beside its field and nothing is written."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import scope
from accounts.models import Membership, Role, User
from core.models import AuditEvent
from tests.conftest import PASSWORD, TOWN_A, TOWN_B, assert_error, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username or user.phone, password=PASSWORD)
    return client


@pytest.fixture(autouse=True)
def _no_posters(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from institutions.risk import recompute_risk
    from institutions.tasks import build_poster

    monkeypatch.setattr(build_poster, "delay", lambda *a: None)
    monkeypatch.setattr(recompute_risk, "delay", lambda *a: None)


@pytest.fixture
def inst(db):
    return make_institution("涪陵启明艺术培训学校", town=TOWN_A)


@pytest.fixture
def town_a_staff(db):
    return make_user("A 镇科员", Role.BUREAU_STAFF, region=region(TOWN_A))


@pytest.fixture
def town_b_staff(db):
    return make_user("B 镇科员", Role.BUREAU_STAFF, region=region(TOWN_B))


@pytest.fixture
def teacher_account(db):
    return make_user("王老师", phone="13900001111")


def _add(client, inst, phone="13900001111", reason="机构申请开通账号"):
    return client.post(f"/console/institutions/{inst.pk}/accounts/add", {"phone": phone, "reason": reason})


def test_the_bureau_adds_and_removes_an_account_with_a_reason(inst, town_a_staff, teacher_account):
    c = signed_in(town_a_staff)
    page = c.get(f"/console/institutions/{inst.pk}/").content.decode()
    assert 'data-testid="accounts-none"' in page and 'data-testid="account-add-form"' in page
    r = _add(c, inst, phone="139 0000 1111")
    assert r.status_code == 302 and "done=account_added" in r["Location"]
    m = Membership.objects.get(user=teacher_account, role=Role.INSTITUTION_STAFF)
    assert m.institution_id == inst.pk and m.is_active
    assert inst.pk in scope.institution_ids(User.objects.get(pk=teacher_account.pk))
    page = c.get(f"/console/institutions/{inst.pk}/").content.decode()
    assert "王老师" in page and "139****1111" in page and "13900001111" not in page
    assert "开通机构账号：王老师" in page and "机构申请开通账号" in page  # on the timeline
    # Adding again (a double click, a retry): nothing new.
    r = _add(c, inst)
    assert "done=account_exists" in r["Location"]
    assert AuditEvent.objects.filter(verb="institution.account.add").count() == 1

    r = c.post(f"/console/institutions/{inst.pk}/accounts/{m.pk}/remove", {"reason": "已离职"})
    assert r.status_code == 302 and "done=account_removed" in r["Location"]
    m.refresh_from_db()
    assert not m.is_active
    assert inst.pk not in scope.institution_ids(User.objects.get(pk=teacher_account.pk))
    event = AuditEvent.objects.get(verb="institution.account.remove")
    assert event.actor_id == town_a_staff.pk and event.data["reason"] == "已离职"
    assert event.object_type == "institutions.institution" and event.object_id == str(inst.pk)
    page = c.get(f"/console/institutions/{inst.pk}/?kind=staff").content.decode()
    assert "移除机构账号：王老师" in page and "已离职" in page
    # Added back later: the same membership, active again, audited again.
    _add(c, inst, reason="重新入职")
    m.refresh_from_db()
    assert m.is_active and AuditEvent.objects.filter(verb="institution.account.add").count() == 2


def test_bad_input_is_told_and_nothing_is_written(inst, town_a_staff, teacher_account):
    c = signed_in(town_a_staff)
    r = _add(c, inst, reason="")
    assert r.status_code == 422 and 'data-testid="account-reason-error"' in r.content.decode()
    r = _add(c, inst, phone="12345")
    assert r.status_code == 422 and 'data-testid="account-phone-error"' in r.content.decode()
    r = _add(c, inst, phone="13700009999")  # no account with that phone
    html = r.content.decode()
    assert r.status_code == 422 and "尚未注册账号" in html and 'value="13700009999"' in html
    assert not Membership.objects.filter(role=Role.INSTITUTION_STAFF).exists()
    _add(c, inst)
    m = Membership.objects.get(role=Role.INSTITUTION_STAFF)
    r = c.post(f"/console/institutions/{inst.pk}/accounts/{m.pk}/remove", {"reason": "  "})
    assert r.status_code == 422 and 'data-testid="account-remove-error"' in r.content.decode()
    m.refresh_from_db()
    assert m.is_active
    assert not AuditEvent.objects.filter(verb="institution.account.remove").exists()


def test_another_towns_institution_and_other_people_get_404(
    inst, town_a_staff, town_b_staff, teacher_account, parent, school_admin_x
):
    other = make_institution("B 镇机构", town=TOWN_B)
    c = signed_in(town_a_staff)
    assert _add(c, other).status_code == 404
    _add(c, inst)
    m = Membership.objects.get(role=Role.INSTITUTION_STAFF)
    # The membership of this institution through another institution's address: 404.
    own_other = make_institution("A 镇另一机构", town=TOWN_A)
    assert c.post(f"/console/institutions/{own_other.pk}/accounts/{m.pk}/remove", {"reason": "x"}).status_code == 404
    for user in (town_b_staff, parent, school_admin_x, teacher_account):
        client = signed_in(user)
        assert _add(client, inst).status_code == 404
        assert client.post(f"/console/institutions/{inst.pk}/accounts/{m.pk}/remove",
                           {"reason": "x"}).status_code == 404  # fmt: skip
    m.refresh_from_db()
    assert m.is_active
    assert (
        Client().post(f"/console/institutions/{inst.pk}/accounts/add", {"phone": "1", "reason": "x"}).status_code == 302
    )


# --- The same over the API -------------------------------------------------------------------------------------------


def test_the_api_lists_adds_and_removes_accounts(api_as, inst, town_a_staff, town_b_staff, teacher_account, anon):
    api = api_as(town_a_staff)
    base = f"institutions/{inst.pk}/members"
    assert api.get(base).json() == []
    r = api.post(base, {"phone": "13900001111", "reason": "开通"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "王老师" and body["phone"] == "139****1111" and body["active"]
    again = api.post(base, {"phone": "13900001111", "reason": "开通"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert [m["id"] for m in api.get(base).json()] == [body["id"]]
    assert_error(api.post(base, {"phone": "13700009999", "reason": "开通"}), 422, "membership.no_account")
    assert_error(api.post(base, {"phone": "13900001111", "reason": ""}), 422)
    assert_error(api.post(base, {"phone": "13900001111"}), 422)
    # Another town's bureau, another town's institution, nobody: 404 / 401.
    assert_error(api_as(town_b_staff).get(base), 404)
    assert_error(api_as(town_b_staff).post(f"{base}/{body['id']}/remove", {"reason": "x"}), 404)
    other = make_institution("B 镇机构", town=TOWN_B)
    assert_error(api.post(f"institutions/{other.pk}/members", {"phone": "13900001111", "reason": "x"}), 404)
    assert_error(anon.get(base), 401)
    assert_error(api.post(f"{base}/999999/remove", {"reason": "离职"}), 404)

    r = api.post(f"{base}/{body['id']}/remove", {"reason": "离职"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert api.post(f"{base}/{body['id']}/remove", {"reason": "离职"}).status_code == 200
    assert AuditEvent.objects.filter(verb="institution.account.remove").count() == 1
    assert api.get(base).json() == []
