"""Helpers for the admission tests: valid ID numbers, scans, register sheets, and an admission taken through the
services to any state."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from stdnum.cn import ric

from afterschool.admission import services
from afterschool.admission.models import AdmissionDocument

TODAY = date(2026, 11, 25)


def id_no(seq: int, birth: str = "19980315", area: str = "500102") -> str:
    body = f"{area}{birth}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def jpeg_scan(name: str = "scan.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def pdf_scan(name: str = "scan.pdf") -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def register_xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "来源", "列入日期"])
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def application_data(school, seq: int = 1, name: str = "陈教练", **extra) -> dict:
    return {
        "school_id": school.pk,
        "name": name,
        "id_number": id_no(seq),
        "qualifications": [
            {"kind": "教练员证", "number": "JL-001", "issuer": "涪陵区体育局", "expires_on": "2028-01-01"}
        ],
        "record_issuer": "涪陵区公安分局",
        "record_issued_on": str(TODAY - timedelta(days=30)),
        "health_issuer": "涪陵区中心医院",
        "health_issued_on": str(TODAY - timedelta(days=10)),
        "consent_signed": True,
        **extra,
    }


def service_data(school, seq: int = 1, name: str = "陈教练", **extra) -> dict:
    """application_data as the services take it (dates, not strings)."""
    data = application_data(school, seq, name, **extra)
    data["record_issued_on"] = date.fromisoformat(data["record_issued_on"])
    data["health_issued_on"] = date.fromisoformat(data["health_issued_on"])
    return data


def add_documents(actor, admission) -> None:
    for kind in (
        AdmissionDocument.Kind.PHOTO,
        AdmissionDocument.Kind.QUALIFICATION,
        AdmissionDocument.Kind.CRIMINAL_RECORD,
        AdmissionDocument.Kind.HEALTH,
        AdmissionDocument.Kind.CONSENT,
    ):
        services.document_add(actor=actor, admission=admission, kind=kind, upload=jpeg_scan())


def admitted(applicant, school_admin, bureau, school, seq: int = 1, name: str = "陈教练", **extra):
    """An admission taken through every step by the services."""
    a = services.admission_create(actor=applicant, **service_data(school, seq, name, **extra))
    add_documents(applicant, a)
    services.admission_submit(actor=applicant, admission=a)
    services.admission_school_review(actor=school_admin, admission=a, approve=True)
    services.admission_bureau_review(actor=bureau, admission=a, approve=True)
    a.refresh_from_db()
    return a
