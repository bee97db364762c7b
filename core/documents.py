"""Scanned documents (certificates, consent forms): an image (checked and re-encoded by core.uploads) or a PDF,
recognised by its content, never by its name or the type the client claims."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .uploads import check_image, clean_image

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class CheckedDocument:
    content: bytes
    content_type: str
    extension: str


def _error(code: str, message, status: int, field: str) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def check_document(upload, *, field: str = "file", max_bytes: int = MAX_DOCUMENT_BYTES) -> CheckedDocument:
    """The bytes to store: a PDF as sent (a whole file: header and end marker), an image re-encoded without EXIF."""
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        data = upload.read(max_bytes + 1)
        upload.seek(0)
        if len(data) > max_bytes:
            mb = max_bytes // (1024 * 1024)
            raise _error(
                "upload.too_large", format_lazy(_("文件过大（不超过 {mb} MB）"), mb=mb), 413, field
            )
        if b"%%EOF" not in data[-1024:]:
            raise _error(
                "upload.truncated",
                _("PDF 文件不完整（上传可能中断）"),
                422,
                field,
            )
        return CheckedDocument(data, "application/pdf", "pdf")
    try:
        check_image(upload, max_bytes=max_bytes, field=field)
    except DomainError as exc:
        if exc.code in ("upload.not_an_image", "upload.unsupported_type"):
            raise _error(
                "upload.not_a_document",
                _("材料须为图片（JPEG、PNG、WEBP）或 PDF"),
                415,
                field,
            ) from None
        raise
    cleaned, _thumb, _size = clean_image(io.BytesIO(upload.read()))
    upload.seek(0)
    return CheckedDocument(cleaned, "image/jpeg", "jpg")
