"""Scanned documents (certificates, consent forms): an image (checked and re-encoded by core.uploads) or a PDF,
recognised by its content, never by its name or the type the client claims."""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .uploads import check_image, clean_image

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

# PDF names that make a document do something rather than show something: scripts, actions that run a program, go
# another file or send data, files carried inside, Flash/3D media, XFA forms (scriptable). An action opening the file
# (/OpenAction, /AA) is only a danger with one of these, so these are what is looked for.
ACTIVE_PDF_NAMES = frozenset(
    {
        b"/JavaScript",
        b"/JS",
        b"/Launch",
        b"/EmbeddedFile",
        b"/EmbeddedFiles",
        b"/RichMedia",
        b"/XFA",
        b"/SubmitForm",
        b"/ImportData",
        b"/GoToE",
        b"/GoToR",
    }
)
_PDF_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]+")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
# A file that a browser would also take for HTML (a polyglot): markup in the first bytes, or a script anywhere.
_HTML_HEAD = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|svg|object|embed|meta|img|a\s)", re.I)
_HTML_ANYWHERE = re.compile(rb"<\s*(script|html)[\s>/]", re.I)
_INFLATED_MAX = 50 * 1024 * 1024  # decompressed streams read at most this much (a zip bomb stops here)


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
            raise _error("upload.too_large", format_lazy(_("文件过大（不超过 {mb} MB）"), mb=mb), 413, field)
        if b"%%EOF" not in data[-1024:]:
            raise _error(
                "upload.truncated",
                _("PDF 文件不完整（上传可能中断）"),
                422,
                field,
            )
        if _pdf_is_active(data):
            raise _error(
                "upload.active_content",
                _("PDF 含有脚本、自动操作、链接或嵌入文件等活动内容，请另存为普通 PDF 或上传扫描图片"),
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


def _pdf_is_active(data: bytes) -> bool:
    """Active PDF names in the file or in its compressed streams (object streams hide dictionaries there), with
    #xx escapes in names undone (/J#61vaScript is /JavaScript), or HTML a browser could run."""
    if _HTML_HEAD.search(data[:1024]):
        return True
    budget = _INFLATED_MAX
    for chunk in _with_inflated_streams(data, budget):
        if _HTML_ANYWHERE.search(chunk):
            return True
        for match in _PDF_NAME.finditer(chunk):
            name = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group())
            if name in ACTIVE_PDF_NAMES:
                return True
    return False


def _with_inflated_streams(data: bytes, budget: int):
    yield data
    for match in _STREAM.finditer(data):
        if budget <= 0:
            return
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(match.group(1), budget)
        except zlib.error:
            continue  # not Flate (an image's DCT data, say): nothing a reader would parse as objects
        budget -= len(inflated)
        yield inflated
