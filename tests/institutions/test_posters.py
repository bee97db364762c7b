"""QR codes and posters: they decode to the public address, Chinese is drawn with real glyphs (or building fails
loudly), and the build_poster task stores one current poster per institution, rebuilt when what it prints changes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageFont

from core.errors import DomainError
from institutions import posters, services, verification
from institutions.models import Institution, Poster, Status
from institutions.tasks import build_poster
from tests.conftest import TOWN_A, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db

BASE_URL = "https://jianguan.example.cn"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(autouse=True)
def _public_site(settings, tmp_path):
    settings.PUBLIC_BASE_URL = BASE_URL
    settings.MEDIA_ROOT = tmp_path / "media"
    posters._resolve_font.cache_clear()
    yield
    posters._resolve_font.cache_clear()


def decode(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as image:
        return [r.text for r in zxingcpp.read_barcodes(image)]


def stored_png(institution) -> bytes:
    poster = Poster.objects.get(institution=institution)
    with poster.image.open("rb") as handle:
        return handle.read()


def count_colour(png: bytes, rgb: tuple[int, int, int]) -> int:
    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return sum(n for n, c in colours if c == rgb)


# --- QR codes ------------------------------------------------------------------------------------------------------


def test_qr_png_decodes_to_the_url_with_error_correction_q_and_a_quiet_zone():
    url = f"{BASE_URL}/v/AbC-dEf_0123456789xyzQ"
    png = posters.qr_png(url)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        results = zxingcpp.read_barcodes(image)
        assert [r.text for r in results] == [url]
        assert results[0].ec_level in ("Q", "H")  # M or better was asked; Q is what we print
        grey = image.convert("L")
        modules = len(posters.qr_matrix(url))
        box = image.width // modules
        quiet = posters.QR_BORDER * box
        for strip in ((0, 0, image.width, quiet), (0, 0, quiet, image.height),
                      (image.width - quiet, 0, image.width, image.height),
                      (0, image.height - quiet, image.width, image.height)):
            assert grey.crop(strip).getextrema() == (255, 255), "the quiet zone must be white"


# --- Fonts ---------------------------------------------------------------------------------------------------------


def test_chinese_on_the_poster_is_drawn_with_real_glyphs():
    path, index = posters.find_cjk_font()
    font = ImageFont.truetype(path, 64, index=index)
    shuang, jian, notdef = (bytes(font.getmask(ch)) for ch in ("双", "减", posters.NOTDEF_PROBE))
    assert font.getmask("双").getbbox() is not None and font.getmask("减").getbbox() is not None  # not blank
    assert shuang != jian, "双 and 减 drawn alike: boxes, not glyphs"
    assert notdef not in (shuang, jian), "drawn as the font's missing-glyph box"
    assert posters.has_real_glyphs(font, "扫码核验举报问题")
    # The check itself tells a Latin-only font apart (DejaVu draws every Chinese character as the same box).
    if Path(DEJAVU).is_file():
        assert not posters.has_real_glyphs(ImageFont.truetype(DEJAVU, 64))


def test_a_configured_font_that_cannot_draw_chinese_fails_loudly(settings):
    if not Path(DEJAVU).is_file():
        pytest.skip("DejaVu not installed")
    institution = make_institution()
    settings.POSTER_FONT_PATH = DEJAVU
    with pytest.raises(posters.PosterFontMissing, match="cannot draw Chinese"):
        posters.build_poster_png(institution, verification.live_token(institution))
    settings.POSTER_FONT_PATH = "/nowhere/font.ttc"
    with pytest.raises(posters.PosterFontMissing, match="does not exist"):
        posters.find_cjk_font()


def test_no_cjk_font_anywhere_fails_loudly_with_the_fix(settings, monkeypatch):
    settings.POSTER_FONT_PATH = None
    monkeypatch.setattr(posters, "FONT_CANDIDATES", (DEJAVU,))
    monkeypatch.setattr(posters, "_fontconfig_candidates", lambda: [])
    with pytest.raises(posters.PosterFontMissing, match="apt-get install fonts-wqy-microhei"):
        posters.find_cjk_font()


def test_a_configured_cjk_font_is_used(settings):
    path, index = posters.find_cjk_font()
    settings.POSTER_FONT_PATH = path
    assert posters.find_cjk_font() == (path, index)


# --- The poster ----------------------------------------------------------------------------------------------------


def test_the_poster_is_a4_portrait_and_its_qr_code_decodes_to_the_public_address():
    institution = make_institution(name="涪陵区小星星艺术培训学校有限责任公司江东街道第一分校（很长的名字也要放得下）")
    token = verification.live_token(institution)
    png = posters.build_poster_png(institution, token)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == posters.POSTER_SIZE == (1240, 1754)
    assert decode(png) == [f"{BASE_URL}/v/{token.token}"]


def test_the_poster_shows_the_status_in_its_colour():
    valid = make_institution()
    suspended = make_institution(name="停业机构", status=Status.SUSPENDED)
    green = posters.TONE_COLOURS["green"]
    png_valid = posters.build_poster_png(valid, verification.live_token(valid))
    png_suspended = posters.build_poster_png(suspended, verification.live_token(suspended))
    assert count_colour(png_valid, green) > 5_000
    assert count_colour(png_suspended, green) == 0


# --- The task ------------------------------------------------------------------------------------------------------


def test_the_task_runs_eagerly_and_stores_the_poster_under_a_random_name(settings):
    institution = make_institution()
    build_poster.delay(institution.pk)  # the default lane: eager, in this process

    poster = Poster.objects.get(institution=institution)
    assert (poster.token, poster.status) == (verification.live_token(institution).token, Status.LICENSED)
    name = Path(poster.image.name)
    assert name.parent == Path("posters") and name.suffix == ".png"
    assert re.fullmatch(r"[0-9a-f]{32}-[0-9a-f]{16}", name.stem), name  # random, then the fingerprint
    assert (Path(settings.MEDIA_ROOT) / poster.image.name).is_file()
    assert decode(stored_png(institution)) == [verification.public_address(verification.live_token(institution))]


def test_the_task_is_idempotent_and_rebuilds_when_the_printed_facts_change(settings,
                                                                          django_capture_on_commit_callbacks):
    institution = make_institution()
    build_poster(institution.pk)
    first = Poster.objects.get(institution=institution).image.name
    build_poster(institution.pk)
    assert Poster.objects.get(institution=institution).image.name == first  # same token, status, facts: skipped

    Institution.objects.filter(pk=institution.pk).update(name="改名后的培训学校")
    with django_capture_on_commit_callbacks(execute=True):
        build_poster(institution.pk)
    second = Poster.objects.get(institution=institution).image.name
    assert second != first
    assert not (Path(settings.MEDIA_ROOT) / first).exists(), "the replaced file is deleted after commit"
    assert (Path(settings.MEDIA_ROOT) / second).is_file()


def test_the_task_ignores_an_institution_that_is_gone():
    build_poster(987_654)
    assert not Poster.objects.exists()


def test_a_status_change_rebuilds_the_poster_after_commit(django_capture_on_commit_callbacks):
    from accounts.models import Role

    staff = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    institution = make_institution()
    build_poster(institution.pk)
    before = stored_png(institution)
    orange = posters.TONE_COLOURS["orange"]
    assert count_colour(before, orange) == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.institution_change_status(
            actor=staff, institution_id=institution.pk, to_status=Status.RECTIFYING, reason="超范围培训，责令整改"
        )
        assert Poster.objects.get(institution=institution).status == Status.LICENSED  # nothing before commit
    assert callbacks

    poster = Poster.objects.get(institution=institution)
    assert poster.status == Status.RECTIFYING
    after = stored_png(institution)
    assert count_colour(after, orange) > 5_000  # the badge now says 整改中 in orange
    assert decode(after) == decode(before)  # same code: only the status changed


def test_a_refused_status_change_builds_nothing(django_capture_on_commit_callbacks):
    institution = make_institution(status=Status.REVOKED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError):
        services.institution_change_status(actor=None, institution_id=institution.pk, to_status=Status.LICENSED,
                                           reason="想恢复")
    assert not callbacks
    assert not Poster.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_task_runs_in_a_real_worker_process(settings, real_worker):
    """Production lane: the id crosses the Redis broker; the worker draws the poster and stores it where it keeps
    media (its own MEDIA_ROOT, so the file is removed afterwards)."""
    import os
    import time

    from tests.conftest import ROOT

    settings.MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or ROOT / "media")  # where the worker writes
    institution = make_institution()
    token = verification.live_token(institution).token
    build_poster.delay(institution.pk)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Poster.objects.filter(institution=institution).exists():
        time.sleep(0.2)
    poster = Poster.objects.get(institution=institution)
    try:
        assert (poster.token, poster.status) == (token, Status.LICENSED)
        decoded = decode(stored_png(institution))
        assert len(decoded) == 1 and decoded[0].endswith(f"/v/{token}")
    finally:
        poster.image.delete(save=False)
