"""QR codes and the printable verification poster of an institution (A4 portrait, 150 dpi).

Chinese text needs a CJK font: it comes from the POSTER_FONT_PATH setting, else the usual system paths, else
fontconfig. Without one, building a poster fails loudly (PosterFontMissing) rather than printing empty boxes.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import qrcode
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

from core.errors import is_english

from .models import Category, Institution, VerificationToken

POSTER_SIZE = (1240, 1754)  # A4 portrait at 150 dpi
POSTER_LAYOUT_VERSION = "2"  # bump when the layout changes: every poster is then rebuilt
QR_BORDER = 4  # the quiet zone, in modules (the standard's minimum)

# Tried in order after the POSTER_FONT_PATH setting: Debian/Ubuntu, Fedora/Arch, macOS, Windows.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
# Characters a font must really draw to be used here.
PROBE_CHARS = "双减核验"
NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no font maps: what the font draws for "no glyph"

TONE_COLOURS = {
    "green": (27, 128, 62),
    "orange": (214, 110, 0),
    "red": (183, 28, 28),
    "grey": (110, 110, 110),
}
BRAND = (183, 28, 28)
INK = (34, 34, 34)
MUTED = (100, 100, 100)
WHITE = (255, 255, 255)


class PosterFontMissing(RuntimeError):
    """No font that can draw Chinese was found: a poster would show empty boxes."""


# --- Fonts ---------------------------------------------------------------------------------------------------------


def _mask_bytes(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    mask = font.getmask(text)
    return bytes(mask.size) + bytes(mask)


def has_real_glyphs(font: ImageFont.FreeTypeFont, chars: str = PROBE_CHARS) -> bool:
    """Each character draws something, differently from the others and from the font's "missing glyph" box."""
    notdef = _mask_bytes(font, NOTDEF_PROBE)
    drawn = []
    for ch in chars:
        if font.getmask(ch).getbbox() is None:
            return False
        drawn.append(_mask_bytes(font, ch))
    return notdef not in drawn and len(set(drawn)) == len(drawn)


def _face_index(path: str) -> int | None:
    """The face of a font file (or collection) that draws Chinese, preferring Simplified Chinese; None if none."""
    best = None
    for index in range(12):
        try:
            font = ImageFont.truetype(path, 32, index=index)
        except OSError:
            break  # past the last face of the collection (or not a font at all)
        if not has_real_glyphs(font):
            continue
        family = " ".join(font.getname() or ())
        if best is None:
            best = index
        if " SC" in family or "GB" in family or "Hei" in family:
            return index
    return best


def _fontconfig_candidates() -> list[str]:
    if not shutil.which("fc-list"):
        return []
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


@lru_cache(maxsize=8)
def _resolve_font(configured: str | None) -> tuple[str, int]:
    if configured:
        if not Path(configured).is_file():
            raise PosterFontMissing(f"POSTER_FONT_PATH={configured!r} does not exist.")
        index = _face_index(configured)
        if index is None:
            raise PosterFontMissing(f"POSTER_FONT_PATH={configured!r} cannot draw Chinese characters.")
        return configured, index
    tried = []
    for path in [*FONT_CANDIDATES, *_fontconfig_candidates()]:
        if path in tried or not Path(path).is_file():
            continue
        tried.append(path)
        index = _face_index(path)
        if index is not None:
            return path, index
    raise PosterFontMissing(
        "No font that can draw Chinese was found, so posters would show empty boxes. Install one "
        "(Debian/Ubuntu: apt-get install fonts-wqy-microhei) or set POSTER_FONT_PATH to a CJK .ttf/.ttc/.otf file."
        + (f" Tried: {', '.join(tried)}." if tried else "")
    )


def find_cjk_font() -> tuple[str, int]:
    """(path, face index) of a font that draws Chinese. Raises PosterFontMissing when there is none."""
    return _resolve_font(getattr(settings, "POSTER_FONT_PATH", None) or None)


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    path, index = find_cjk_font()
    return _load(path, index, size)


@lru_cache(maxsize=64)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


# --- QR codes ------------------------------------------------------------------------------------------------------


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code's modules, quiet zone included (error correction Q: 25 % may be dirty or torn)."""
    qr = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_Q, box_size=1, border=QR_BORDER)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_image(url: str, size: int = 600) -> Image.Image:
    """A black-on-white QR image of at most `size` pixels a side, each module a whole number of pixels."""
    matrix = qr_matrix(url)
    count = len(matrix)
    box = max(1, size // count)
    image = Image.new("1", (count * box, count * box), 1)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle((x * box, y * box, (x + 1) * box - 1, (y + 1) * box - 1), fill=0)
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_png(url: str) -> bytes:
    """A PNG of the QR code for `url`, with its quiet zone."""
    return png_bytes(qr_image(url, size=600))


# --- The poster ----------------------------------------------------------------------------------------------------


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """Lines no wider than `width`, broken between characters (Chinese has no spaces); the last one is elided."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if font.getlength(line + ch) <= width:
            line += ch
            continue
        lines.append(line)
        line = ch.lstrip()
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines or [""]


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font, fill, *, bold: bool = False) -> int:
    """Draws a line centred at height y; returns the y below it."""
    width = POSTER_SIZE[0]
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(
        ((width - (right - left)) / 2 - left, y - top),
        text,
        font=font,
        fill=fill,
        stroke_width=1 if bold else 0,
        stroke_fill=fill,
    )
    return y + (bottom - top)


def poster_facts(institution: Institution, token: VerificationToken) -> dict:
    """What the poster shows; also what its fingerprint is made of. One language: the active one (Chinese, the
    default, when a task draws it)."""
    from .verification import public_address, public_status

    status = public_status(institution)
    return {
        "layout": POSTER_LAYOUT_VERSION,
        "name": institution.name,
        "licence_number": institution.licence_number or "",
        "category": str(Category(institution.category).label),
        "status_code": status["code"],
        "status": status["label_en"] if is_english() else status["label_zh"],
        "tone": status["tone"],
        "url": public_address(token),
    }


def poster_fingerprint(institution: Institution, token: VerificationToken) -> str:
    facts = poster_facts(institution, token)
    text = "\x1f".join(f"{key}={facts[key]}" for key in sorted(facts))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_poster_png(institution: Institution, token: VerificationToken) -> bytes:
    """The printable poster: institution name, category, licence number, status, the QR code of the public
    verification page and "扫码核验 · 举报问题". Raises PosterFontMissing when no CJK font is available."""
    facts = poster_facts(institution, token)
    width, height = POSTER_SIZE
    margin = 90
    image = Image.new("RGB", POSTER_SIZE, WHITE)
    draw = ImageDraw.Draw(image)
    tone = TONE_COLOURS[facts["tone"]]

    # Heading band.
    draw.rectangle((0, 0, width, 210), fill=BRAND)
    y = _centered(draw, 48, gettext("涪陵区校外培训机构公示核验码"), cjk_font(60), WHITE, bold=True)

    # Name, category, licence number.
    y = 270
    name_font = cjk_font(78)
    for line in _wrap(facts["name"], name_font, width - 2 * margin, 2):
        y = _centered(draw, y, line, name_font, INK, bold=True) + 22
    y += 14
    detail = cjk_font(36)
    y = _centered(draw, y, gettext("类别：{category}").format(category=facts["category"]), detail, INK) + 20
    licence = facts["licence_number"] or gettext("无")
    for line in _wrap(gettext("办学许可证号：{licence}").format(licence=licence), detail, width - 2 * margin, 2):
        y = _centered(draw, y, line, detail, INK) + 16

    # Status badge.
    y += 18
    badge_font = cjk_font(50)
    badge_text = gettext("状态：{status}").format(status=facts["status"])
    left, top, right, bottom = draw.textbbox((0, 0), badge_text, font=badge_font)
    badge_w = min(width - 2 * margin, (right - left) + 90)
    badge_h = (bottom - top) + 44
    x0 = (width - badge_w) // 2
    draw.rounded_rectangle((x0, y, x0 + badge_w, y + badge_h), radius=26, fill=tone)
    _centered(draw, y + 22, badge_text, badge_font, WHITE, bold=True)
    y += badge_h + 40

    # The QR code, with its quiet zone (white on white paper, drawn inside a thin frame).
    qr_space = height - y - 330
    qr = qr_image(facts["url"], size=min(620, qr_space)).convert("RGB")
    qx = (width - qr.width) // 2
    image.paste(qr, (qx, y))
    draw.rectangle((qx - 2, y - 2, qx + qr.width + 1, y + qr.height + 1), outline=(200, 200, 200), width=2)
    y += qr.height + 36

    # Call to action and footer.
    y = _centered(draw, y, gettext("扫码核验 · 举报问题"), cjk_font(68), BRAND, bold=True) + 18
    y = _centered(draw, y, gettext("机构状态以扫码显示的实时结果为准"), cjk_font(26), MUTED)
    footer = cjk_font(24)
    _centered(draw, height - 96, gettext("重庆市涪陵区教育委员会 监制"), footer, MUTED)
    _centered(draw, height - 58, f"{facts['url']}  ·  {timezone.localdate():%Y-%m-%d}", cjk_font(20), MUTED)
    return png_bytes(image)
