import pytest
from django.core.management import call_command

from accounts.models import Membership, Role, User
from afterschool.schedule.models import School
from core.models import Notification
from institutions.models import Institution

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (User, Membership, School, Institution, Notification)]


def test_seed_demo_is_idempotent_and_covers_every_role(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert {m.role for m in Membership.objects.all()} == set(Role.values)
    out = capsys.readouterr().out
    assert "/api/v1/docs" in out and "/admin/" in out
    for role in Role:
        assert str(role.label) in out


def test_demo_login_works(client):
    from mobile_api.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo")
    response = client.post(
        "/api/v1/auth/login", {"login": "inspector", "password": DEMO_PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200


def test_the_printout_and_the_posters_use_the_address_the_demo_is_served_on(capsys, settings):
    """`make demo PORT=8101` passes http://127.0.0.1:8101: every printed address, each role's login and page, and the
    QR code of the poster built while seeding lead there, not to :8000."""
    import re

    import zxingcpp
    from PIL import Image

    from accounts.services import auth_login
    from institutions import posters
    from institutions.models import Poster
    from institutions.verification import live_token
    from mobile_api.management.commands.seed_demo import DEMO_INSTITUTION, DEMO_PASSWORD

    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # the default: the option wins over it
    call_command("seed_demo", base_url="http://127.0.0.1:8101/")
    out = capsys.readouterr().out
    assert ":8000" not in out
    for path in ("/api/v1/docs", "/admin/", "/afterschool/", "/complaints/new", "/registry/", "/login/"):
        assert f"http://127.0.0.1:8101{path}" in out, path
    assert "ws://127.0.0.1:8101/ws/notifications/" in out
    institution = Institution.objects.get(name=DEMO_INSTITUTION)
    scan_page = f"http://127.0.0.1:8101/v/{live_token(institution).token}"
    assert scan_page in out
    assert f"http://127.0.0.1:8101/registry/{institution.pk}/poster.png" in out
    # One login per role (the seven roles and the outside coach), each with a page to try, and each login works.
    logins = re.findall(r"^ {6}(1\d{10}) / (\S+) +\S+ +→ +(\S+)$", out, flags=re.MULTILINE)
    assert len(logins) == 8 and len({phone for phone, _, _ in logins}) == 8, out
    for phone, password, page in logins:
        assert password == DEMO_PASSWORD and page.startswith("http://127.0.0.1:8101/"), (phone, page)
        assert auth_login(identifier=phone, password=password).access_token
    for role in (*Role, "校外教练"):
        assert str(getattr(role, "label", role)) in out
    # The poster built while seeding: its QR code leads to the demo's address (and the process setting is unchanged).
    assert settings.PUBLIC_BASE_URL == "http://127.0.0.1:8000"
    try:
        posters.find_cjk_font()
    except posters.PosterFontMissing:
        pytest.skip("no Chinese font on this machine: the poster is built on demand later")
    with Poster.objects.get(institution=institution).image.open("rb") as handle, Image.open(handle) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image.convert("RGB"))] == [scan_page]


def test_make_demo_passes_its_port_to_the_printout_and_the_server(tmp_path):
    """The Makefile's demo target gives seed_demo and the server the address it serves on (PORT, HOST)."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_BASE_URL", "HOST", "PORT", "MAKEFLAGS"}}
    dry = subprocess.run(
        ["make", "-n", "-C", str(root), "demo", "PORT=8101"], capture_output=True, text=True, env=env, check=True
    ).stdout
    seed = next(line for line in dry.splitlines() if "seed_demo" in line)
    serve = next(line for line in dry.splitlines() if "runserver" in line)
    assert "--base-url http://127.0.0.1:8101" in seed
    assert serve.startswith("PUBLIC_BASE_URL=http://127.0.0.1:8101 ") and serve.endswith("runserver 127.0.0.1:8101")
    assert "8000" not in seed + serve
