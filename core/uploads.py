"""Image uploads, checked by what they contain (never by their name or declared type), and cleaned copies of them.

`check_image` runs on the request path and is cheap enough for it: Pillow reads the header (format, dimensions, so a
decompression bomb is refused before a pixel is decoded), then decodes the image once to find truncated or corrupt
data (a JPEG at 1/8 scale, which still reads every byte of it). `clean_image` and `thumbnail` do the heavy work
(full decode, re-encode without EXIF, GPS included) and belong in a task. Files are stored under random names.
"""

from __future__ import annotations

import io
import secrets
import struct
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import DomainError

# Format found by Pillow → (content type, extension).
IMAGE_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 25_000_000  # settings.UPLOAD_MAX_IMAGE_PIXELS says why
CLEAN_MAX_SIDE = 2560  # long side of the kept copy: enough to read a receipt, small enough to send to a phone
THUMB_SIDE = 320


@dataclass(frozen=True)
class CheckedImage:
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    size: int


def max_image_pixels() -> int:
    return int(getattr(settings, "UPLOAD_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS))


def _error(code: str, message, status: int, field: str) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def check_image(
    upload,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int | None = None,
    allowed: tuple[str, ...] = ("JPEG", "PNG", "WEBP"),
    field: str = "photo",
) -> CheckedImage:
    """Refuse with a clear DomainError anything that is not a whole, reasonable image of an allowed type.

    `upload` is a Django UploadedFile or any binary file object; it is rewound afterwards.
    """
    max_pixels = max_pixels or max_image_pixels()
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > max_bytes:
        mb = max_bytes // (1024 * 1024)
        raise _error("upload.too_large", format_lazy(_("文件过大（每个不超过 {mb} MB）"), mb=mb), 413, field)
    if size == 0:
        raise _error("upload.empty", _("文件为空"), 422, field)
    upload.seek(0)
    data = io.BytesIO(upload.read())  # Pillow may close what it reads; the upload stays open for storing
    upload.seek(0)
    allowed_names = "、".join(allowed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(data)
            image_format = image.format
            width, height = image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels("", max_pixels, field) from None
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        raise _error(
            "upload.not_an_image",
            format_lazy(_("文件不是有效的图片（支持 {allowed}）"), allowed=allowed_names),
            415,
            field,
        ) from None
    if image_format not in allowed or image_format not in IMAGE_TYPES:
        raise _error(
            "upload.unsupported_type",
            format_lazy(
                _("不支持的图片格式 {image_format}（支持 {allowed}）"), image_format=image_format, allowed=allowed_names
            ),
            415,
            field,
        )
    if width * height > max_pixels or width < 1 or height < 1:
        raise _too_many_pixels(f"{width}×{height}", max_pixels, field)
    try:
        if image_format == "JPEG":
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # reads every byte, decodes little
        with _strict_decoding():
            image.load()
    except (*_DECODE_ERRORS, Image.DecompressionBombError) as exc:
        truncated = "truncated" in str(exc) or isinstance(exc, EOFError)
        raise _error(
            "upload.truncated" if truncated else "upload.corrupt",
            _("图片不完整（上传可能中断），请重新选择") if truncated else _("图片已损坏，无法读取"),
            422,
            field,
        ) from None
    finally:
        image.close()
    content_type, extension = IMAGE_TYPES[image_format]
    return CheckedImage(image_format, content_type, extension, width, height, size)


@contextmanager
def _strict_decoding():
    """Cut-off data raises while decoding, whatever Pillow's process-wide setting: weasyprint sets
    ImageFile.LOAD_TRUNCATED_IMAGES = True when it is imported (for the PDFs it draws), after which a truncated
    upload would load as an image with a grey bottom. Web and task workers decode on one thread."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _too_many_pixels(dimensions: str, max_pixels: int, field: str) -> DomainError:
    megapixels = max_pixels // 1_000_000
    if dimensions:
        message = format_lazy(
            _("图片尺寸过大（{dimensions}），不超过 {megapixels} 百万像素"),
            dimensions=dimensions,
            megapixels=megapixels,
        )
    else:
        message = format_lazy(_("图片尺寸过大，不超过 {megapixels} 百万像素"), megapixels=megapixels)
    return _error("upload.too_many_pixels", message, 413, field)


_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)


def random_name(extension: str) -> str:
    """A name that says nothing of the file or its owner and cannot be guessed."""
    return secrets.token_hex(16) + extension


def _open_oriented(source) -> Image.Image:
    image = Image.open(source)
    image.load()
    # The camera's orientation tag is applied to the pixels, since the tag itself goes with the rest of EXIF.
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return image


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    clean = image.copy()
    clean.info = {}  # no EXIF, GPS, XMP, comments or ICC profile travel with the pixels
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def clean_image(source, *, max_side: int = CLEAN_MAX_SIDE, quality: int = 85) -> tuple[bytes, bytes, tuple[int, int]]:
    """The kept copy (JPEG, long side at most `max_side`, no metadata), its thumbnail, and the kept size."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked by check_image before storing
        image = _open_oriented(source)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    kept = _jpeg_bytes(image, quality)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return kept, _jpeg_bytes(thumb, 80), image.size
