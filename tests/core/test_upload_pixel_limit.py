"""Decoding cost is bounded: an image with more pixels than settings.UPLOAD_MAX_IMAGE_PIXELS (25 MP) is refused from
its header, before a pixel is decoded, however small the file."""

import io
import time

import pytest
from PIL import Image, ImageFile

from core.errors import DomainError
from core.uploads import check_image


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def png_36mp() -> bytes:
    return png(6000, 6000)


def test_the_default_limit_is_25_megapixels(settings):
    assert settings.UPLOAD_MAX_IMAGE_PIXELS == 25_000_000


def test_a_tiny_png_of_36_megapixels_is_refused_before_decoding(png_36mp, monkeypatch):
    assert len(png_36mp) < 200_000  # about 105 KB on the wire

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.perf_counter()
    with pytest.raises(DomainError) as refused:
        check_image(io.BytesIO(png_36mp))
    elapsed = time.perf_counter() - started
    assert refused.value.code == "upload.too_many_pixels" and refused.value.status == 413
    assert "6000×6000" in refused.value.message_zh and "25 百万像素" in refused.value.message_zh
    assert "at most 25 megapixels" in refused.value.message_en
    assert elapsed < 0.5, f"refused in {elapsed * 1000:.0f} ms"
    print(f"36 MP PNG of {len(png_36mp) // 1024} KB refused in {elapsed * 1000:.1f} ms")


def test_the_limit_is_a_setting(settings):
    settings.UPLOAD_MAX_IMAGE_PIXELS = 1000
    with pytest.raises(DomainError) as refused:
        check_image(io.BytesIO(png(40, 30)))  # 1200 pixels
    assert refused.value.code == "upload.too_many_pixels"
    assert check_image(io.BytesIO(png(30, 30))).width == 30
