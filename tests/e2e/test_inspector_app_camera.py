# ruff: noqa: F811 - fixtures imported from inspection_fixtures are used as arguments
"""Checking in by scanning the institution's poster QR code with the phone's camera, in Chromium with a fake camera:
Chromium plays a video file as the camera, and that video is made here from the very QR code the poster prints (the
public verification link of the institution's live token). The app reads the frames (BarcodeDetector where the browser
has one, else the vendored jsQR, loaded only on this tap), records the check-in with the code as proof of presence,
and the server's copy says so: not flagged although the position is 1 km off.

Chromium takes the camera's file on its command line, so this test launches its own browser (same Playwright)."""

from __future__ import annotations

import pytest
from PIL import Image

from institutions.models import VerificationToken
from institutions.posters import qr_image
from institutions.verification import public_address
from supervision.models import Inspection, VisitRecord
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_inspector_app import PHONE, all_sent, due_today, sign_in
from tests.supervision.inspection_fixtures import FAR, premises, team, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTH, HEIGHT = 640, 480


def write_y4m(path, picture: Image.Image, frames: int = 10) -> None:
    """A YUV4MPEG2 video (4:2:0, full-range JPEG YCbCr) showing `picture` still: the format Chromium's fake camera
    reads. Each frame: 'FRAME\\n', the Y plane at full size, then Cb and Cr at half size each way."""
    ycbcr = picture.convert("RGB").resize((WIDTH, HEIGHT)).convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + cb.resize(half, Image.BILINEAR).tobytes() + cr.resize(half, Image.BILINEAR).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F25:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


def poster_scene(url: str) -> Image.Image:
    """The poster's QR code as the camera sees it: on a light grey wall, a little off centre."""
    scene = Image.new("RGB", (WIDTH, HEIGHT), (225, 225, 220))
    code = qr_image(url, size=360).convert("RGB")
    scene.paste(code, ((WIDTH - code.width) // 2 + 20, (HEIGHT - code.height) // 2 - 10))
    return scene


@pytest.fixture
def camera_browser(browser, tmp_path, visit):
    """A Chromium whose camera films the poster of `visit`'s institution (its own launch: the video is an argument)."""
    token = VerificationToken.objects.get(institution=visit.institution, revoked_at__isnull=True)
    video = tmp_path / "poster.y4m"
    write_y4m(video, poster_scene(public_address(token)))
    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        yield camera, token
    finally:
        camera.close()


def test_check_in_by_scanning_the_poster_qr_code_with_the_camera(camera_browser, live_server, visit, team):
    camera, token = camera_browser
    due_today(visit)
    context = camera.new_context(
        locale="zh-CN",
        viewport=PHONE,
        geolocation={"latitude": FAR[0], "longitude": FAR[1], "accuracy": 30},  # 1 km away: GPS alone would flag
        permissions=["geolocation", "camera"],
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    decoder = []
    try:
        page = context.new_page()
        page.on("request", lambda r: "jsQR" in r.url and decoder.append(r.url))
        sign_in(page, live_server.url, team[0])
        assert decoder == []  # not part of the first load
        page.get_by_test_id("visit-card").first.click()
        page.get_by_test_id("checkin-scan").click()
        page.get_by_test_id("checkin-status").filter(has_text="已签到").wait_for(timeout=30_000)
        assert "已用机构海报核验码证明到场" in page.get_by_test_id("checkin-status").inner_text()
        assert page.get_by_test_id("scanner").count() == 0  # the camera is off again
        uses_jsqr = page.evaluate("() => !('BarcodeDetector' in window) || typeof window.jsQR === 'function'")
        assert uses_jsqr
        all_sent(page)
    finally:
        context.close()
    checkin = VisitRecord.objects.get(inspection=visit, kind="checkin")
    assert checkin.payload["qr_token"] == token.token  # the poster's code, kept as the proof of presence
    v = Inspection.objects.get(pk=visit.pk)
    assert v.checkin_at is not None and v.checkin_distance_m > 500 and not v.checkin_flagged


def test_the_decoder_is_kept_by_the_service_worker_for_offline_scans(browser, live_server, visit, team):
    """Loaded lazily, but cached on install: a first scan with the network cut still finds its decoder."""
    from tests.e2e.test_inspector_app import phone

    context = phone(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, team[0])
        page.get_by_test_id("visit-card").first.wait_for()
        context.set_offline(True)
        page.reload()
        page.get_by_test_id("banner-offline").wait_for()
        url = page.evaluate("() => JSON.parse(document.getElementById('app-config').textContent).qrDecoder")
        loaded = page.evaluate(
            """(src) => new Promise((resolve) => {
                const s = document.createElement('script');
                s.src = src;
                s.onload = () => resolve(typeof window.jsQR === 'function');
                s.onerror = () => resolve(false);
                document.head.append(s);
            })""",
            url,
        )
        assert loaded
    finally:
        context.close()
