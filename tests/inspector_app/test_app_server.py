# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""The phone apps' server side (inspector_app): shells without personal data or inline scripts, manifests, a
same-origin service worker whose scope covers both apps, the lost-phone question, homes that lead to the apps; and
what the app sends that the sync had to learn: a check-in without a position (flagged), or proven by the poster's
code."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.services import auth_logout, auth_revoke_user_sessions
from institutions.models import VerificationToken
from supervision.models import Inspection, VisitRecord
from tests.conftest import assert_error, login_tokens
from tests.supervision.inspection_fixtures import FAR, NEARBY, premises, record, team, visit  # noqa: F401

pytestmark = pytest.mark.django_db

SHELLS = ("/app/inspector/", "/app/rollcall/")


@pytest.mark.parametrize("path", SHELLS)
def test_the_shells_are_the_same_for_everyone_and_run_no_inline_script(path, inspector_a):
    anonymous = Client().get(path)
    signed_in = Client()
    signed_in.force_login(inspector_a)
    mine = signed_in.get(path)
    assert anonymous.status_code == mine.status_code == 200
    html = anonymous.content.decode()
    assert inspector_a.name not in mine.content.decode()  # the service worker may keep it: nothing personal
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
    assert "script-src 'self'" in anonymous["Content-Security-Policy"]
    assert 'rel="manifest"' in html and "outbox.js" in html
    strings = json.loads(re.search(r'id="app-strings" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert strings["n_pending"] == "{n} 条待上传" and strings["sync"] == "同步"


@pytest.mark.parametrize("path", [s + "manifest.webmanifest" for s in SHELLS])
def test_the_manifests_make_installable_apps(path):
    answer = Client().get(path)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/manifest+json"
    body = json.loads(answer.content)
    assert body["display"] == "standalone" and body["start_url"] in SHELLS
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    for icon in body["icons"]:
        assert Client().get(icon["src"]).status_code == 200


def test_the_service_worker_is_same_origin_never_cached_and_keeps_both_shells():
    answer = Client().get("/app/sw.js")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/javascript")
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    body = answer.content.decode()
    assert '"/app/inspector/"' in body and '"/app/rollcall/"' in body and "dexie.min.js" in body
    assert re.search(r'const VERSION = "[0-9a-f]{12}"', body)


def test_a_phone_the_bureau_cut_off_is_told_to_wipe_and_one_signed_out_elsewhere_is_not(
    inspector_a, inspector_b, bureau_admin
):
    lost, kept = login_tokens(inspector_a), login_tokens(inspector_b)
    ask = lambda token: Client().post(  # noqa: E731
        "/app/device-status", json.dumps({"refresh_token": token}), content_type="application/json"
    ).json()
    assert ask(lost["refresh"]) == {"wipe": False}  # still signed in
    auth_revoke_user_sessions(actor=bureau_admin, user=inspector_a)  # a lost phone
    auth_logout(actor=inspector_b, session=kept["session"])  # signed out on another device
    assert ask(lost["refresh"]) == {"wipe": True}
    assert ask(kept["refresh"]) == {"wipe": False}
    assert ask("rt_not-a-token") == {"wipe": False} and ask(None) == {"wipe": False}
    assert Client().post("/app/device-status", "not json", content_type="application/json").status_code == 400
    assert Client().get("/app/device-status").status_code == 405


def test_the_homes_lead_to_the_apps(inspector_a):
    from accounts.models import Role
    from tests.conftest import make_user
    from tests.e2e.conftest import school_and_admin

    inspector = Client()
    inspector.force_login(inspector_a)
    html = inspector.get("/").content.decode()
    assert 'href="/app/inspector/"' in html and 'href="/app/inspector/#/outbox"' in html
    school, _admin = school_and_admin()
    teacher = Client()
    teacher.force_login(make_user("刘老师", Role.TEACHER, school=school))
    html = teacher.get("/").content.decode()
    assert 'href="/app/rollcall/"' in html  # in the menu: a tab on phones


# --- What the app sends ---------------------------------------------------------------------------------------------


def sync(client, records):
    answer = client.post("inspections/sync", {"records": records})
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_the_phone_learns_the_team_by_name(api_as, visit, team):
    [v] = api_as(team[0]).get("inspections/assigned").json()["visits"]
    assert v["team"] == [team[0].name, team[1].name]


def test_a_check_in_without_a_position_is_taken_and_flagged(api_as, visit, team):
    [fate] = sync(api_as(team[0]), [record(visit, "checkin", {"accuracy_m": None})])
    assert fate["status"] == "applied"
    v = Inspection.objects.get(pk=visit.pk)
    assert v.checkin_at and v.checkin_flagged and v.checkin_distance_m is None and v.checkin_latitude is None


def test_the_posters_code_proves_presence_and_a_wrong_code_is_refused(api_as, visit, team):
    token = VerificationToken.objects.get(institution=visit.institution, revoked_at__isnull=True)
    phone = api_as(team[0])
    [wrong] = sync(phone, [record(visit, "checkin", {"qr_token": "not-this-one"})])
    assert wrong["status"] == "rejected" and wrong["code"] == "sync.qr_token_mismatch"
    [bad] = sync(phone, [record(visit, "checkin", {"qr_token": 42})])
    assert bad["code"] == "sync.bad_qr_token"
    # No position indoors, far off outside: the code scanned on the premises is what counts.
    [fate] = sync(phone, [record(visit, "checkin", {"qr_token": token.token, "latitude": FAR[0], "longitude": FAR[1]})])
    assert fate["status"] == "applied"
    v = Inspection.objects.get(pk=visit.pk)
    assert not v.checkin_flagged and v.checkin_distance_m > 900
    assert VisitRecord.objects.get(kind="checkin", state="applied").payload["qr_token"] == token.token


def test_a_located_check_in_still_counts_the_distance(api_as, visit, team):
    [fate] = sync(api_as(team[0]), [record(visit, "checkin", {"latitude": NEARBY[0], "longitude": NEARBY[1]})])
    assert fate["status"] == "applied"
    v = Inspection.objects.get(pk=visit.pk)
    assert not v.checkin_flagged and v.checkin_distance_m < 50
    assert_error(api_as(team[2]).get(f"inspections/{visit.pk}"), 404)  # not on this team
